"""analyzer='auto' picks character n-grams where spaces do not separate words (mltc.models.text)."""
import pytest

from mltc.models.featurizers import TfidfFeaturizer
from mltc.models.text import mean_token_length, needs_char_ngrams

ENGLISH = ["wheat prices rose as grain exports grew", "crude oil tanker attacked in the gulf"]
GERMAN = ["Die Entscheidung des Bundesverfassungsgerichts betrifft die Arbeitnehmerüberlassungsverträge nicht",
          "Die Donaudampfschifffahrtsgesellschaft meldet einen Rekordumsatz im vergangenen Geschäftsjahr"]
CHINESE = ["原告与被告于二零一零年登记结婚", "婚后育有一子"]
THAI = ["ราคาข้าวสาลีสูงขึ้นเนื่องจากการส่งออกธัญพืชเพิ่มขึ้น ตลาดหุ้นปิดบวก",
        "เรือบรรทุกน้ำมันถูกโจมตีในอ่าวเปอร์เซีย"]


@pytest.mark.parametrize("texts, char", [(ENGLISH, False), (GERMAN, False), (CHINESE, True), (THAI, True)])
def test_auto_analyzer(texts, char):
    assert needs_char_ngrams(texts) is char
    f = TfidfFeaturizer()
    f.fit(texts * 2)
    assert f.resolved_analyzer == ("char" if char else "word")


def test_mean_token_length():
    assert mean_token_length(["ab cd", "efgh"]) == pytest.approx(8 / 3)
    assert mean_token_length([]) == 0.0 and mean_token_length(["   "]) == 0.0
    assert mean_token_length(GERMAN) < 15 < mean_token_length(THAI)
