"""Any text at all as a question: never an error, and the same answer twice."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ask_json

# Random Unicode, plus the awkward corners: control characters, right-to-left text, emoji, very long input.
awkward = st.one_of(
    st.text(max_size=600),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=50),
    st.text(alphabet=st.sampled_from("مرحبا שלום \u202e\u202d\u200f\u200e"), max_size=80),
    st.text(alphabet=st.sampled_from("😀👶🏥💊🧾\u200d\ufe0f"), max_size=80),
    st.text(alphabet=st.sampled_from("医保缴费新生儿报销〔〕[]（）()号2023年%元"), max_size=600),
    st.builds(
        lambda a, b: a + b,
        st.sampled_from(["新生儿怎么参保", "赣医保发[2023]9号", "交多少钱"]),
        st.text(max_size=40),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=awkward)
def test_any_question_is_answered_or_declined_and_the_same_twice(assistant, question):
    from policyqa.understanding import is_blank

    if is_blank(question):  # refused before answering: the API's 422, the CLI's exit status 2
        with pytest.raises(ValueError, match="问题不能为空"):
            ask_json(assistant, question)
        return
    first = ask_json(assistant, question)
    second = ask_json(assistant, question)
    assert first == second
    assert isinstance(first.answered, bool) and first.message
    for a in first.answers:
        assert a.quote in a.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(region=st.text(max_size=30))
def test_any_region_text_resolves_or_is_refused_cleanly(assistant, region):
    from policyqa import UnknownRegion

    try:
        ask_json(assistant, "交多少钱", region=region)
    except UnknownRegion as e:
        assert "地区" in str(e)
