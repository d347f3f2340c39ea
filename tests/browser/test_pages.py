"""The pages as residents and hotline staff use them, in a real browser."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def ask(page, question):
    page.fill("#question", question)
    page.click("#ask-button")
    page.locator(".exchange").last.wait_for()
    return page.locator(".exchange").last


def test_asking_shows_the_cited_answer_with_the_quote_marked(phone):
    phone.goto("/")
    assert phone.locator(".suggestions button").count() >= 3, "an empty chat suggests questions"
    screenshot(phone, "chat-phone-empty")
    exchange = ask(phone, "新乡剖宫产居民医保能报多少钱？")
    first = exchange.locator(".answer").first
    assert "新医保办〔2023〕54号" in first.locator(".doc-number").inner_text()
    assert "2000元" in first.locator("blockquote.clause mark").inner_text()
    assert "2023-09-11" in first.inner_text() and "新乡市医疗保障局" in first.inner_text()
    assert re.search(r"/documents/\w+#clause-", first.locator("a", has_text="查看").get_attribute("href"))
    screenshot(phone, "chat-phone")


def test_desktop_chat_shows_differing_places_side_by_side(desktop):
    desktop.goto("/")
    exchange = ask(desktop, "过了缴费期补缴以后，要等多久才能享受待遇？")
    assert "各地规定不同" in exchange.locator(".message").inner_text()
    cards = exchange.locator(".answers.side-by-side .answer")
    assert cards.count() >= 2
    boxes = [cards.nth(i).bounding_box() for i in range(2)]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 5 and boxes[0]["x"] != boxes[1]["x"], "the places stand side by side"
    screenshot(desktop, "chat-desktop")


def test_the_region_picker_is_remembered_after_a_reload(phone):
    phone.goto("/")
    phone.select_option("#region-province", label="江西省")
    phone.locator("#region-city option").nth(1).wait_for(state="attached")
    phone.select_option("#region-city", label="宜春市")
    phone.locator("#region-county option").nth(1).wait_for(state="attached")
    phone.select_option("#region-county", label="袁州区")
    expect(phone.locator("#current-region")).to_contain_text("袁州区")
    phone.reload()
    assert phone.locator("#region-county option:checked").inner_text() == "袁州区"
    assert "袁州区" in phone.locator("#current-region").inner_text()


def test_a_place_named_in_the_question_moves_the_picker(phone):
    phone.goto("/")
    ask(phone, "我是济宁曲阜的，住院在乡镇卫生院能报多少？")
    expect(phone.locator("#current-region")).to_contain_text("曲阜市")
    assert phone.locator("#region-county option:checked").inner_text() == "曲阜市"


def test_a_follow_up_keeps_the_region_and_the_topic(phone):
    phone.goto("/")
    first = ask(phone, "新乡在县级医院看普通门诊，起付标准是多少？")
    assert "新医保办〔2023〕54号" in first.inner_text()
    follow_up = ask(phone, "那报销比例呢？")
    answer = follow_up.locator(".answer").first
    assert "新医保办〔2023〕54号" in answer.inner_text()
    assert "%" in answer.locator("mark").inner_text()


def test_the_chat_works_by_keyboard_alone_with_visible_focus(phone):
    phone.goto("/")
    for _ in range(30):
        phone.keyboard.press("Tab")
        if phone.evaluate("document.activeElement.id") == "question":
            break
    else:
        pytest.fail("the question box cannot be reached with Tab")
    outline = phone.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus is visible"
    phone.keyboard.type("新生儿怎么参保")
    phone.keyboard.press("Enter")
    phone.locator(".exchange").last.wait_for()
    assert phone.locator(".exchange .answer").count() >= 1
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.tagName") in ("A", "BUTTON")


def test_a_script_in_a_question_is_shown_as_text_and_never_run(phone):
    phone.goto("/")
    phone.evaluate("window.__ran = false")
    exchange = ask(phone, "<script>window.__ran = true</script><img src=x onerror=\"window.__ran=true\">交多少钱")
    assert "<script>window.__ran = true</script>" in exchange.locator(".question-text").inner_text()
    assert phone.evaluate("window.__ran") is False
    assert exchange.locator("script, img").count() == 0


def test_no_horizontal_scroll_on_a_375px_phone(phone):
    for path in ("/", "/search?q=新生儿", "/compare?topic=个人缴费标准"):
        phone.goto(path)
        if path == "/":
            ask(phone, "低保户参保有补助吗？")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375, path


def test_large_text_toggle(phone):
    phone.goto("/")
    before = phone.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    phone.click("#large-text-toggle")
    after = phone.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert after > before
    phone.reload()
    assert phone.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") == after


def test_with_javascript_off_the_form_still_asks_and_answers(browser, server):
    context = browser.new_context(java_script_enabled=False, base_url=server, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/")
    page.fill("#question", "济宁看门诊还要签约定点吗？")
    page.click("#ask-button")
    page.wait_for_load_state()
    answer = page.locator(".exchange .answer").first
    assert "济医保发〔2023〕15号" in answer.inner_text() and answer.locator("mark").count() == 1
    page.click(".exchange .answer >> nth=0 >> button:has-text('有帮助')")
    assert "谢谢您的反馈" in page.locator(".notice").inner_text()
    context.close()


def test_unanswerable_questions_say_so_plainly_with_the_hotline(phone):
    phone.goto("/")
    exchange = ask(phone, "帮我编一个笑话段子")
    assert "12393" in exchange.inner_text() and exchange.locator(".answer").count() == 0


def test_staff_search_with_a_filter_and_copy_citation(browser, server):
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    page.goto("/search")
    page.fill("#q", "新生儿 参保登记")
    page.fill("#filter-region", "宜春市")
    page.click("form.search button[type=submit]")
    page.wait_for_selector(".result")
    count = int(re.search(r"共找到\s*(\d+)", page.locator("#result-count").inner_text()).group(1))
    assert count >= 1
    docs = {t.split(" ")[0] for t in page.locator(".result .cite a").all_inner_texts()}
    assert docs <= {"宜医保字〔2023〕25号", "赣医保发〔2023〕9号", "医保发〔2023〕24号"}
    assert page.locator(".result mark").count() > 0, "matched terms are marked"
    first = page.locator(".result").first
    citation = first.locator(".citation-text").inner_text()
    assert re.fullmatch(r"《.+》（.+〔2023〕\d+号）.+", citation)
    first.locator("button.copy").click()
    expect(page.locator(".result .copied").first).not_to_be_empty()
    assert page.evaluate("navigator.clipboard.readText()") == citation
    screenshot(page, "search")
    context.close()


def test_the_compare_page_shows_each_place_cited(desktop):
    desktop.goto("/compare")
    desktop.click("text=待遇等待期")
    cells = desktop.locator("#compare-grid .cell")
    assert cells.count() >= 2
    text = desktop.locator("#compare-grid").inner_text()
    assert "江西省" in text and "新乡市" in text and "90日" in text and "30天" in text
    assert all("〔2023〕" in cells.nth(i).locator(".citation").inner_text() for i in range(cells.count()))
    screenshot(desktop, "compare")


def test_a_document_page_opens_at_a_clause_anchor(desktop, api):
    documents = api.get("/api/v1/documents").json()["documents"]
    doc = next(d for d in documents if d["doc_number"] == "赣医保发〔2023〕9号")
    clauses = api.get(f"/api/v1/documents/{doc['id']}").json()["clauses"]
    clause = next(c for c in clauses if c["section"] == "三、（四）")
    desktop.goto(f"/documents/{doc['id']}#clause-{clause['id']}")
    target = desktop.locator(f"#clause-{clause['id']}")
    assert target.evaluate("el => el.matches(':target')")
    assert desktop.evaluate("document.activeElement.id") == f"clause-{clause['id']}"
    box = target.bounding_box()
    assert 0 <= box["y"] < 300, "the clause is scrolled into view"
    assert "宜医保字〔2023〕25号" in desktop.locator("nav.chain").inner_text(), "the forward chain is linked"
    assert desktop.locator("nav.outline a").count() == doc["clause_count"]
    screenshot(desktop, "document")


def test_picking_changchun_chaoyang_keeps_the_answer_and_the_picker_in_changchun(phone):
    """长春市朝阳区 (220104) shares its name with 北京市朝阳区 (110105): the code travels, never the name."""
    phone.goto("/")
    phone.select_option("#region-province", label="吉林省")
    phone.locator("#region-city option").nth(1).wait_for(state="attached")
    phone.select_option("#region-city", label="长春市")
    phone.locator("#region-county option").nth(1).wait_for(state="attached")
    phone.select_option("#region-county", value="220104")
    exchange = ask(phone, "居民医保个人缴费标准是多少？")
    assert "长春市朝阳区" in exchange.locator(".message").inner_text() or "朝阳区" in exchange.inner_text()
    assert "北京" not in exchange.inner_text()
    expect(phone.locator("#region-county")).to_have_value("220104")
    assert phone.locator("#region-city option:checked").inner_text() == "长春市"
    cookie = next(c for c in phone.context.cookies() if c["name"] == "region")
    assert cookie["value"] == "220104"
    phone.reload()
    assert phone.locator("#region-city option:checked").inner_text() == "长春市"


def test_an_ambiguous_place_in_a_question_offers_the_candidates(phone):
    phone.goto("/")
    exchange = ask(phone, "鼓楼区新生儿怎么参保")
    assert "有几个地方都叫" in exchange.inner_text()
    choices = exchange.locator(".candidates button")
    assert choices.count() >= 2
    choices.first.click()
    answered = phone.locator(".exchange").last
    answered.wait_for()
    assert "有几个地方都叫" not in answered.locator(".message").inner_text()


def test_a_long_message_is_answered_one_block_per_question(phone):
    phone.goto("/")
    exchange = ask(phone, "你好，我家在新乡辉县市农村，老人快七十了，孩子在外地上班。想问两个问题："
                          "1.今年居民医保个人要交多少钱？2.错过了集中缴费期再交，要等多少天才能报销？")
    parts = exchange.locator(".part")
    assert parts.count() == 2
    assert "380元" in parts.nth(0).inner_text() and "30天" in parts.nth(1).locator("mark").first.inner_text()
    assert exchange.locator(".lead-quote").count() >= 2
    screenshot(phone, "chat-phone-parts")
