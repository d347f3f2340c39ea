"""Residents' own ways of asking, one pattern each (issue: answer residents as they really ask).

Every question here is written for this test: none comes from the dev set or the realistic question files.
"""
import pytest

from policyqa.understanding import asked_years, clean, split_message, story_and_question
from tests.conftest import ask_json


def first(reply):
    assert reply.answered, reply.message
    return reply.answers[0]


@pytest.mark.parametrize("name", ["新农合", "农合", "农村合作医疗", "合作医疗", "城乡医保", "城镇居民医保", "农村医保"])
def test_old_and_everyday_names_of_the_scheme_mean_resident_insurance(assistant, name):
    answer = first(ask_json(assistant, f"{name}个人一年要交多少钱", region="宜春市"))
    assert answer.doc_number in {"赣医保发〔2023〕9号", "宜医保字〔2023〕25号"}
    assert "380元" in answer.quote


def test_a_name_of_the_scheme_is_not_read_for_the_words_inside_it(assistant):
    # 农村医疗保险 holds 村医 (a village doctor): the name is taken out before everyday phrases are matched.
    reply = ask_json(assistant, "2022年贵州农村医疗保险个人交多少钱")
    assert first(reply).doc_number == "医保发〔2023〕24号" and "380元" in reply.answers[0].quote


@pytest.mark.parametrize("question, region, doc, phrase", [
    ("吃低保的人交医保，个人那部分谁出", "新乡市", None, "低保"),
    ("门特能报多少", "济宁市", None, "门诊"),
    ("补交了以后多久生效", "新乡市", "新医保办〔2023〕54号", "30天"),
    ("能不能不带卡，用手机上的医保码看病", "江西省", "赣医保发〔2023〕9号", "医保电子凭证"),
    ("在村卫生室拿的药医保能报不", "新乡市", "新医保办〔2023〕54号", "基层定点医疗机构支付比例"),
    ("济宁这边年年交医保一次没落下，有啥奖励没", "济宁市", "鲁医保发〔2023〕36号", "激励措施"),
    ("闺女的娃才生出来一个礼拜，医保咋个办", "宜春市", None, "新生儿"),
])
def test_everyday_words_find_the_policy_terms(assistant, question, region, doc, phrase):
    answer = first(ask_json(assistant, question, region=region))
    assert doc is None or answer.doc_number == doc
    assert phrase in answer.text


def test_dialect_is_read_as_standard_mandarin(assistant, resources):
    assert clean("俺娃儿冇得医保咋整，交好多钱", resources) == "我孩子没有医保怎么办，交多少钱"
    answer = first(ask_json(assistant, "俺们自贡今年居民医保交好多钱嘛"))
    assert answer.doc_number == "自医保办发〔2023〕35号" and "380元" in answer.quote


def test_northeastern_and_gan_words_for_here_money_and_school(assistant, resources):
    assert clean("俺们这疙瘩交几个钱", resources) == "我们这里交多少钱"
    answer = first(ask_json(assistant, "济宁这疙瘩合作医疗今年一个人交几个钱"))
    assert answer.doc_number == "济医保发〔2023〕15号" and "380元" in answer.quote
    assert "学校" in clean("细伢子在学堂交医保还是屋里交", resources)


def test_hao_duo_asks_how_much_but_hao_duo_ci_is_many(resources):
    assert clean("宜春住院起付线好多？", resources) == "宜春住院起付线多少？"
    assert clean("一年交好多", resources) == "一年交多少"
    assert clean("看了好多次门诊", resources) == "看了好多次门诊"


def test_paying_out_of_ones_own_pocket_is_the_personal_contribution(assistant):
    answer = first(ask_json(assistant, "在江西读大专，学校交医保那份要家里掏钱不"))
    assert "个人不缴费" in answer.quote


def test_the_place_one_comes_from_is_not_the_place_asked_about(assistant):
    reply = ask_json(assistant, "我老家是湖北的，今年嫁到济宁，户口刚迁过来，交了居民医保以后从什么时候开始享受待遇")
    assert reply.region.name == "济宁市"
    assert first(reply).doc_number in {"鲁医保发〔2023〕36号", "济医保发〔2023〕15号"}


def test_a_detail_of_the_story_is_not_taken_for_the_topic(assistant):
    assert story_and_question("孩子在恒温箱躺了一星期，花了不少，出生那几天的钱能报吗") == (
        "孩子在恒温箱躺了一星期，花了不少，", "出生那几天的钱能报吗")
    answer = first(ask_json(assistant, "宜春这边孩子在恒温箱躺了一星期，花了不少，出生那几天的钱能报吗"))
    assert "自出生之日起" in answer.text
    # A clause joined to the asking one by 和 is part of what is asked.
    assert story_and_question("单位买的那个险，和居民医保可以两头都报销吗") == (
        "", "单位买的那个险，和居民医保可以两头都报销吗")
    assert not ask_json(assistant, "单位买的补充医疗险，和居民医保可以两头都报销吗").answered


def test_who_the_asker_is_told_in_the_story_decides_the_rule(assistant):
    message = ("我弟弟前年从部队复员回到宜春，一直没找到工作，他媳妇和闺女也都没上班，家里人都没参保，"
               "今年集中交费的时候也错过了。1.他们一家现在再交还来得及吗？2.交了多久能用上？")
    reply = ask_json(assistant, message)
    assert len(reply.parts) == 2
    assert "退出现役" in reply.parts[0].answers[0].text


def test_what_the_question_sets_aside_is_not_what_it_asks(assistant):
    answer = first(ask_json(assistant, "除了高血压和糖尿病，像心脑血管这种慢性病在门诊开药合作医疗给报吗"))
    assert "心脑血管" in answer.quote


@pytest.mark.parametrize("fragment", ["2024新农合收费标准 济宁", "济宁居民医保个人缴费标", "济宁城乡居民医保一年交多"])
def test_search_box_fragments_are_answered(assistant, fragment):
    answer = first(ask_json(assistant, fragment))
    assert answer.region in {"济宁市", "山东省"} and "380元" in answer.text


def test_masks_and_ascii_punctuation_are_dropped(resources):
    assert clean("我叫张**,在***医院生的孩子,生育*贴能报吗?", resources) == "我叫张,在医院生的孩子,生育贴能报吗?"


def test_a_long_message_is_answered_question_by_question(assistant):
    message = ("你好,我家在新乡辉县市农村,老人今年70多岁了,平时在村卫生室拿降压药,孩子在外地上班没法照顾。"
               "想问两个问题:1.今年的居民医保个人要交多少钱? 2.错过了集中缴费期再交,要等多少天才能报销?谢谢")
    reply = ask_json(assistant, message)
    assert len(reply.parts) == 2
    contribution, waiting = reply.parts
    assert contribution.answered and waiting.answered
    assert "380元" in contribution.answers[0].text
    assert waiting.answers[0].doc_number == "新医保办〔2023〕54号" and "30天" in waiting.answers[0].quote
    assert reply.answers == contribution.answers and reply.message == contribution.message


def test_a_chained_question_is_a_part_even_in_a_short_message(resources, assistant):
    assert len(split_message("济宁的低保户交多少？另外住院能报几成？")) == 2
    assert len(split_message("济宁的低保户交多少钱？交了啥时候能用？")) == 1  # short and not chained: one question
    reply = ask_json(assistant, "在长沙打工，户口在衡阳，能不能在长沙交居民医保？还有长沙住院能报多少？")
    assert len(reply.parts) == 2 and "居住证" in reply.parts[0].answers[0].text


def test_numbered_questions_are_parts_even_in_a_short_message(assistant):
    reply = ask_json(assistant, "我爸在县医院住了十天。1.这个能报多少？2.要带啥证件？", region="新乡市")
    assert [p.answered for p in reply.parts] == [True, False]
    assert reply.answered and "%" in reply.answers[0].text


def test_a_short_message_is_one_question(assistant):
    assert split_message("新生儿怎么参保？要交钱吗？") == split_message("新生儿怎么参保？要交钱吗？")[:1]
    assert ask_json(assistant, "新生儿怎么参保？", region="袁州区").parts == []


def test_traditional_characters_in_a_long_message(assistant):
    message = "我是四川自貢市富順縣的,今年想給全家交城鄉居民醫保。請問:一、每個人交多少錢?二、什麼時候開始交?"
    reply = ask_json(assistant, message)
    assert len(reply.parts) == 2 and all(p.answered for p in reply.parts)
    assert reply.parts[0].answers[0].doc_number == "自医保办发〔2023〕35号"


def test_a_year_the_notices_do_not_cover_is_said_plainly(assistant):
    reply = ask_json(assistant, "2020年济宁新农合个人交多少钱")
    assert reply.answered and "380元" in reply.answers[0].text
    assert "没有2020年" in reply.message and "2024年度" in reply.message


def test_every_answer_says_which_coverage_year_its_rule_is_for(assistant):
    assert "2024年度" in ask_json(assistant, "新乡居民医保集中缴费期是几月").message


def test_years_are_read_from_the_question(resources):
    years, rest = asked_years("2021年合作医疗交多少钱，今年呢", 2026)
    assert years == (2021, 2026) and "2021" not in rest
    assert asked_years("2024年1月1日以后出生的孩子", 2026)[0] == ()
    assert asked_years("剖宫产定额2000元", 2026)[0] == ()


def test_a_place_outside_the_corpus_gets_the_national_rule_and_is_told(assistant):
    reply = ask_json(assistant, "海口的城乡居民医保，国家规定个人最少交多少")
    assert first(reply).doc_number == "医保发〔2023〕24号" and "380元" in reply.answers[0].quote
    assert "没有海口市" in reply.message


def test_a_story_before_the_question_does_not_hide_the_provinces_answer(assistant):
    # 滨州 has no notice of its own; Shandong's says when newly moved-in residents are covered.
    reply = ask_json(assistant, "10月份户口从外市迁到滨州，原来的地方没交，在滨州交了医保从啥时候能用")
    assert first(reply).doc_number == "鲁医保发〔2023〕36号" and "次月" in reply.answers[0].quote


def test_how_much_is_read_for_what_it_asks(assistant):
    # 每人补多少 wants the amount per person; a place without its own notice gets no rate for 报多少万.
    assert "640元" in first(ask_json(assistant, "福建合作医疗政府给每人补多少")).quote
    assert not ask_json(assistant, "兰州居民医保住院一年最多能报多少万").answered
    assert not ask_json(assistant, "西宁的城乡医保看门诊一年最高可以报销多少").answered  # a cap only the city sets


def test_a_count_told_in_the_story_is_not_a_figure_asked_for(assistant):
    reply = ask_json(assistant, "长春的老人去三亚过冬要住几个月，高血压这种慢特病的门诊费用能跨省直接结算吗")
    assert first(reply).doc_number == "医保发〔2023〕24号" and "跨省直接结算" in reply.answers[0].quote
    assert not ask_json(assistant, "长春居民医保门诊慢特病要等几个月才能报").answered


@pytest.mark.parametrize("question", ["海口居民医保住院起付线是多少钱", "哈尔滨门诊慢特病去哪里申请，要带什么材料",
                                      "杭州居民医保断缴以后补缴的流程",
                                      "南宁居民医保缴费最晚到哪天，过了还能补吗",
                                      # a rate is given, but for something else than 大病保险 or 医疗救助
                                      "三亚的城乡居民大病保险能报几成", "唐山低保户住院医疗救助能报多少比例",
                                      # whether there is a waiting period is the local rule on how long it is
                                      "兰州的合作医疗断交以后再交有等待期不"])
def test_a_rule_only_that_place_could_set_is_declined_with_the_hotline(assistant, question):
    reply = ask_json(assistant, question)
    assert not reply.answered and "12393" in reply.message


@pytest.mark.parametrize("question", ["惠民保今年多少钱一份", "单位给交的职工医保缴费基数是多少",
                                      "医保个人账户里的钱能取出来吗", "被车撞了住院，对方全责，新农合能报吗",
                                      "个税大病医疗专项附加扣除怎么填", "城乡居民养老保险一年交多少档次",
                                      "社保卡里头的钱能拿来给我妈看病不", "镶颗种的牙新农合给报不",
                                      "药房买的蛋白粉保健品能走医保吗", "老人走了，今年交的居民医保钱能退回来不",
                                      "住院押金要先交多少", "住院那几天的伙食费新农合给报不",
                                      "乙类药自己要先付几成", "慢性病门诊要咋个申请认定",
                                      "在外省住院的发票拿回老家找哪个部门报销", "去医保局把今年的医保退了钱几天能到",
                                      "社保卡冻结了还能看病不", "干活时意外受伤了新农合咋报",
                                      "职工医保交了以后多长时间能用", "合作医疗交够二十年是不是就不用再交了",
                                      "去外省看病异地备案的手续有哪些", "从县医院转院去省城住院回来咋报",
                                      "老家和打工的地方两边都交了医保，能退一边不", "住院报的钱啥时候能到账",
                                      "合作医疗报完了，自己买的商业保险还能再报不",
                                      "娃的出生证明去哪开", "门特的认定去哪家医院做", "慢病卡到期了咋续",
                                      "宜春医保中心电话多少", "去年交医保的缴费证明咋打印", "住院花的钱厂里给报不",
                                      "娃的医保卡能给大人拿去用不", "社保卡可以给俺爸刷着拿药吗"])
def test_neighbouring_topics_are_declined_not_answered_loosely(assistant, question):
    reply = ask_json(assistant, question)
    assert not reply.answered and reply.answers == []


def test_every_seed_notice_governs_the_2024_coverage_year(notices):
    assert {n.doc_number: n.coverage_year for n in notices.values()} == dict.fromkeys(notices, 2024)


@pytest.mark.parametrize("question, phrase", [("合作医疗每年多少", "380元"), ("新乡的合疗一年要掏多少", "380元"),
                                              ("外省户籍的人在三亚能参加居民医保吗", "居住证")])
def test_a_bare_how_much_and_an_outside_hukou_are_read(assistant, question, phrase):
    # 每年多少 after the scheme's name asks for the contribution; 外省户籍 asks about enrolling with a residence permit.
    assert phrase in first(ask_json(assistant, question)).quote


@pytest.mark.parametrize("question", ["新农合拍个核磁共振能报多少", "居民医保做化疗给报销不",
                                      "看病打吊瓶的钱合作医疗报不报"])
def test_a_single_examination_or_treatment_is_left_to_the_local_catalogue(assistant, question):
    # The notices set rates for 住院 and 门诊 as a whole; whether one item is paid is in the local catalogues.
    reply = ask_json(assistant, question)
    assert not reply.answered and "目录" in reply.message and "12393" in reply.message


def test_an_item_told_in_passing_does_not_turn_the_question_away(assistant):
    reply = ask_json(assistant, "老伴每周做透析，医保报完了自己还掏不少，大病保险还能再报吗")
    assert reply.answered and "大病保险" in first(reply).quote


def test_the_collective_payment_window_is_not_the_collective_purchase_of_drugs(assistant):
    # 集中缴费 asks for the payment window; 集中 alone would match 集中带量采购 (drug purchasing).
    assert "9月至12月" in first(ask_json(assistant, "新乡这边集中交是哪几个月")).quote
    reply = ask_json(assistant, "福建的合作医疗集中缴费是几月份")  # the province's notice sets no window
    assert not reply.answered or "集采" not in first(reply).quote and "带量采购" not in first(reply).quote


def test_the_insurer_running_the_critical_illness_scheme_is_still_answered(assistant):
    # Claims on one's own commercial policy are declined; who runs 大病保险 for the scheme is in the notices.
    assert ask_json(assistant, "山东居民医保的大病保险是哪家商业保险公司承办的").answered


@pytest.mark.parametrize("question", ["宜春的医疗救助对象住院救助比例是多少",
                                      "自贡荣县的，娃今年9月出生两个多月了还没办医保，听说要在出生后多久内办才能报出生时的住院费？"])
def test_a_weak_match_without_the_figure_asked_for_is_declined(assistant, question):
    # The best clause covers little of the question and gives no rate or time of the kind asked: 70% of a hospital
    # stay is not how long a newborn's parents have to enrol.
    assert not ask_json(assistant, question).answered


def test_leaving_employee_insurance_for_the_resident_scheme_is_answered(assistant):
    # 职工医保 rules are declined, but moving from it to the resident scheme after it lapses is in the notices.
    reply = ask_json(assistant, "江西的职工医保断了俩月转居民医保有等待期不")
    assert reply.answered and first(reply).doc_number == "赣医保发〔2023〕9号"
    assert not ask_json(assistant, "职工医保交了以后多长时间能用").answered


def test_a_rate_asked_is_not_met_by_any_clause_on_payments(assistant):
    # 报销比例 stands for 支付比例, not for every clause that says 支付 or 基金 (新乡's 支付方式改革 clause).
    answer = first(ask_json(assistant, "新乡的合作医疗住院报销比例是多少"))
    assert "70%" in answer.quote


@pytest.mark.parametrize("question", ["自贡的门诊慢特病能报百分之多少", "新乡基层医院住院报销比例"])
def test_a_rate_for_another_benefit_does_not_answer(assistant, question):
    # 川's 70% is for hospital stays, 新乡's 60% for 门诊 at a clinic: neither is the rate asked for.
    reply = ask_json(assistant, question)
    assert not reply.answered and "12393" in reply.message


def test_a_rate_stated_for_the_benefit_asked_is_still_given(assistant):
    assert "65%" in first(ask_json(assistant, "山东门诊慢特病报销比例是多少")).quote


def test_a_date_told_in_the_story_is_not_what_is_asked(assistant):
    # "9月份交的" says when the asker paid; the question is from when the benefits start.
    answer = first(ask_json(assistant, "新乡合疗9月份交的，交完从哪天起能用"))
    assert "次年1月1日" in answer.quote


@pytest.mark.parametrize("question", ["新乡的合疗十月份就交上了，今年能用还是要等到明年",
                                      "新乡合作医疗九月份交了，今年就能用还是明年才能用"])
def test_when_it_can_be_used_finds_the_benefit_period(assistant, question):
    # 能用 stands for 享受 and 待遇享受期, not for every clause that says 待遇 (the 待遇清单 clause).
    assert "次年1月1日" in first(ask_json(assistant, question)).quote


def test_spending_the_card_balance_is_not_lending_the_card(assistant):
    assert "个人账户" in ask_json(assistant, "医保卡里的钱能给娃交居民医保不").message


def test_generic_words_of_a_policy_term_do_not_stand_for_it(assistant):
    # 线上缴费 is not held whole in the index; its generic part 缴费 is in most clauses and would match them all.
    assert "线上缴费" in first(ask_json(assistant, "新乡的居民医保能不能在网上交")).quote


@pytest.mark.parametrize("question, places", [
    ("宜春医保定点药店买药能报吗", ["宜春市"]),  # 医保定点: 医保 and 定点, not 保定
    ("医保定额是什么意思", []),
    ("新乡的孩子在延长缴费期交的", ["新乡市"]),  # 延长缴费期, not 延长县
    ("河北保定市的居民医保", ["河北省", "保定市"]),  # a full name is a place wherever it stands
    ("我在保定交的居民医保", ["保定市"]),
])
def test_a_place_name_inside_a_policy_term_is_no_place(assistant, question, places):
    from indexer.regions import named_places
    from policyqa.understanding import _in_policy_term, clean

    resources = assistant.resources
    text = clean(question, resources)
    named = named_places(text, resources.divisions,
                         in_word=lambda i, j: _in_policy_term(text, i, j, resources.domain_terms))
    assert [region.name for region, _ in named] == places


@pytest.mark.parametrize("question", ["昆明居民医保生孩子定额给多少", "在长沙生小孩，居民医保能给多少钱"])
def test_how_much_they_give_asks_for_an_amount(assistant, question):
    # 给多少 and 定额 ask for a sum: a place without its own notice gets no national sentence without one.
    reply = ask_json(assistant, question)
    assert not reply.answered and "12393" in reply.message


@pytest.mark.parametrize("question", ["拿我妈的医保卡去药店给我自己买药行不行", "刷老公的卡给我拿药会被查吗"])
def test_using_a_relatives_card_is_card_lending(assistant, question):
    reply = ask_json(assistant, question)
    assert not reply.answered and "本人使用" in reply.message


def test_an_injury_at_work_told_without_the_word_is_a_work_injury(assistant):
    reply = ask_json(assistant, "在车间干活被机器砸伤了手，老板不给报，居民医保能报不")
    assert not reply.answered and "12333" in reply.message
    # Farm work at home is no employer's: not turned away as a work injury.
    assert "工伤" not in ask_json(assistant, "在地里干活摔伤了腿，居民医保住院能报吗").message


@pytest.mark.parametrize("question", ["糖尿病在卫生院一次能开几个月的药", "居民医保长期处方最多开多久"])
def test_how_much_medicine_one_prescription_holds_is_not_the_notices(assistant, question):
    reply = ask_json(assistant, question)
    assert not reply.answered and "长期处方" in reply.message


@pytest.mark.parametrize("question", ["阿托伐他汀钙片居民医保能报吗", "帕博利珠单抗去药店买报多少",
                                      "奥美拉唑农合给报不"])
def test_a_drug_asked_about_by_name_is_the_drug_lists(assistant, question):
    reply = ask_json(assistant, question)
    assert not reply.answered and "药品目录" in reply.message


@pytest.mark.parametrize("question", ["新乡延长缴费期交的医保，等多少天才好使", "新乡是延长期交的，多久管用"])
def test_when_it_works_is_when_it_can_be_used(assistant, question):
    # 管用, 好使: dialect for 能用 (the benefits start after the waiting period).
    assert "30天" in first(ask_json(assistant, question)).quote


@pytest.mark.parametrize("question, phrase", [("山东的合作医疗能不能用手机交费", "移动端"),
                                              ("福州的居民医保能微信交吗", "线上缴费")])
def test_paying_on_the_phone_is_paying_online(assistant, question, phrase):
    # 手机交, 微信交: the province's online payment; "能不能用手机" asks whether the phone can be used, not when the
    # insurance can (能用).
    assert phrase in first(ask_json(assistant, question)).quote


@pytest.mark.parametrize("question", ["我是吉林农村的，居民医保个人一年最少交多少",
                                      "广西乡下的，居民医保个人最低交多少钱"])
def test_which_part_of_a_place_the_asker_lives_in_is_not_the_topic(assistant, question):
    # 农村的, 乡下的 after the place say where the asker lives: the one scheme covers town and country, so the
    # national minimum contribution answers.
    answer = first(ask_json(assistant, question))
    assert answer.doc_number == "医保发〔2023〕24号" and "380元" in answer.quote


def test_a_figure_for_a_group_at_a_place_without_its_notice_must_be_that_groups(assistant):
    # The national 640 and 380 yuan are for everyone: not what a 特困户 or 低保户 there is given or pays.
    for question in ["长春吃低保的，交医保政府补多少，自己出多少", "太原的特困户交居民医保政府给补多少"]:
        reply = ask_json(assistant, question)
        assert not reply.answered and "12393" in reply.message, question
    # The province's rule for them, in its own words (低保 are 定额资助参保对象 in Jiangxi), still answers.
    assert "60元" in first(ask_json(assistant, "萍乡低保户交医保自己出多少钱")).quote


@pytest.mark.parametrize("dictated, meant", [
    ("宜春新农和啥时候开始交", "宜春新农合啥时候开始交"),
    ("四川合作医疗主院能包多少", "四川合作医疗住院能报多少"),
    ("江西低包户参包自己交多少", "江西低保户参保自己交多少"),
])
def test_homophones_of_voice_input_read_as_the_words_meant(assistant, dictated, meant):
    reply, expected = ask_json(assistant, dictated), ask_json(assistant, meant)
    assert expected.answered and reply.answered
    assert [(a.doc_number, a.quote) for a in reply.answers] == [(a.doc_number, a.quote) for a in expected.answers]


@pytest.mark.parametrize("question", ["我妈六十五了，是袁州城里的低收入户，交医保政府补多少",
                                      "城里低收入家庭的老人交居民医保有补助吗 宜春"])
def test_the_towns_low_income_families_are_a_group_of_their_own(assistant, question):
    # 城里 is 城镇: 城镇低收入家庭 is a group the city subsidises (not the place the asker lives in).
    assert "城镇低收入家庭" in first(ask_json(assistant, question)).quote
