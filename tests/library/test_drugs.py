"""The CYP3A co-medication catalogue (pksim.library.drugs): names, aliases, published effects.

Published numbers are typed here from their sources (PK_REFERENCE.md sections 1.3 and 4).
"""

import pytest

from pksim.library import drugs

# ----------------------------------------------------------------------------- catalogue


CONSENSUS_NAMES = [
    # Chinese LN consensus (seed 000), section 2: raise levels / lower levels, with its spelling.
    "红霉素",  # erythromycin
    "阿奇霉素",  # azithromycin
    "伊曲康唑",  # itraconazole
    "甲硝唑",  # metronidazole
    "利福平",  # rifampicin
    "卡巴芬净",  # caspofungin as written in the consensus
]


@pytest.mark.parametrize(
    "name",
    [
        "erythromycin",
        "azithromycin",
        "itraconazole",
        "ketoconazole",
        "fluconazole_100mg",
        "fluconazole_200mg",
        "voriconazole",
        "posaconazole",
        "isavuconazole",
        "metronidazole",
        "diltiazem_low_dose",
        "diltiazem_high_dose",
        "verapamil",
        "nifedipine",
        "amlodipine",
        "rifampicin",
        "caspofungin",
        "clarithromycin",
        "nirmatrelvir_ritonavir",
        "wuzhi_capsule",
        "grapefruit_juice",
        "rifabutin",
        "carbamazepine",
        "phenytoin",
        "phenobarbital",
    ],
)
def test_every_required_drug_is_catalogued(name):
    """Drugs named in the consensus (DOMAIN.md) and listed in PK_REFERENCE section 1.3."""
    drug = drugs.lookup_drug(name)
    assert drug.name == name
    assert drug.mechanism in drugs.MECHANISMS
    assert name in drugs.list_drugs()


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("伏立康唑", "voriconazole"),
        ("利福平", "rifampicin"),
        ("五酯胶囊", "wuzhi_capsule"),
        ("VORICONAZOLE", "voriconazole"),
        ("Rifampin", "rifampicin"),
        ("Grapefruit juice", "grapefruit_juice"),
        ("paxlovid", "nirmatrelvir_ritonavir"),
        ("氨氯地平", "amlodipine"),
    ],
)
def test_aliases_and_chinese_names(alias, name):
    assert drugs.lookup_drug(alias).name == name


@pytest.mark.parametrize("alias", CONSENSUS_NAMES)
def test_consensus_chinese_names_resolve(alias):
    assert drugs.lookup_drug(alias).named_in_consensus


def test_unknown_name_suggests_and_lists():
    with pytest.raises(ValueError, match=r'did you mean "voriconazole"\?\); valid: .*rifampicin'):
        drugs.lookup_drug("vorikonazole")
    with pytest.raises(ValueError, match=r'\'Rifampine\' \(did you mean "rifampicin"\?\)'):
        drugs.lookup_drug("Rifampine")  # close to the alias "rifampin": the entry is suggested


@pytest.mark.parametrize(
    ("name", "members"),
    [
        ("fluconazole", ["fluconazole_100mg", "fluconazole_200mg"]),
        ("diltiazem", ["diltiazem_low_dose", "diltiazem_high_dose"]),
        ("咪唑类抗真菌药", ["itraconazole", "posaconazole"]),
    ],
)
def test_group_names_list_their_members(name, members):
    with pytest.raises(ValueError, match="choose one of") as error:
        drugs.lookup_drug(name)
    assert all(member in str(error.value) for member in members)


def test_corticosteroids_point_to_the_covariate():
    with pytest.raises(ValueError, match="prednisone_mg_per_day"):
        drugs.lookup_drug("泼尼松")


def test_describe_drug_shows_effect_mechanism_and_citations():
    text = drugs.describe_drug("伏立康唑")
    assert "Voriconazole" in text
    assert "reversible inhibition" in text
    assert "x4.21" in text and "x3.32" in text  # per CYP3A5 group, Chinese kidney patients
    assert "CYP3A5 genotype-dependent drug-drug interaction" in text
    assert "(missing" not in text
    genotype = drugs.describe_drug("amlodipine")
    assert "CYP3A5 expressers" in genotype and "non-expressers" in genotype
    for name in drugs.list_drugs():
        assert "(missing from references.toml)" not in drugs.describe_drug(name)


# Published numbers (PK_REFERENCE section 4): (drug, expresser, CL multiplier, F multiplier).
PUBLISHED = [
    # Noxafil label Table 16 / Sansone-Parsons 2007: AUC x4.58, placed on CL/F.
    ("posaconazole", False, 1 / 4.58, 1.0),
    # Ann Pharmacother 2023 (Chinese kidney transplant): C0/D +320.93 % (*3/*3), +232.19 %.
    ("voriconazole", False, 1 / 4.2093, 1.0),
    ("voriconazole", True, 1 / 3.3219, 1.0),
    # Prograf label 12.3: F 14 -> 7 %, CL 0.036 -> 0.053 L/h/kg.
    ("rifampicin", False, 0.053 / 0.036, 7 / 14),
    # Floren 1997: F 14 -> 30 %, CL/F -66 % -> systemic CL = 0.34 x F ratio.
    ("ketoconazole", False, 0.34 * 30 / 14, 30 / 14),
    # Erba 2023 Table 1 (darunavir/ritonavir): t1/2 256 h vs 15.6 h, CL/F 0.2 vs 6.7 L/h.
    ("nirmatrelvir_ritonavir", True, 15.6 / 256, 15.6 / 256 * 6.7 / 0.2),
    # Erba 2023 Table 1 (darunavir/cobicistat): t1/2 195 h, CL/F 0.333 L/h.
    ("cobicistat", False, 15.6 / 195, 15.6 / 195 * 6.7 / (1.0 / 3.0)),
    # Zuo 2013 (amlodipine): CL/F / 2.2 in expressers, unchanged in non-expressers.
    ("amlodipine", True, 1 / 2.2, 1.0),
    ("amlodipine", False, 1.0, 1.0),
    # Susomboon 2022, day-7 AUC12/D: expressers 34.9 -> 43.6, non-expressers 49.4 -> 71.1.
    ("diltiazem_low_dose", True, 34.9 / 43.6, 1.0),
    ("diltiazem_low_dose", False, 49.4 / 71.1, 1.0),
    # Xin 2007: CL/F -49 %.
    ("wuzhi_capsule", False, 0.51, 1.0),
    # Manez 1994: median C0 x1.4 (100 mg/day) and x3.1 (200 mg/day).
    ("fluconazole_100mg", False, 1 / 1.4, 1.0),
    ("fluconazole_200mg", False, 1 / 3.1, 1.0),
    # J Antimicrob Chemother 2023 (PMID 37667501): C/D x1.44.
    ("isavuconazole", False, 1 / 1.44, 1.0),
    # Cancidas SmPC: 12-h concentration -26 %.
    ("caspofungin", False, 1 / 0.74, 1.0),
]


@pytest.mark.parametrize(("name", "expresser", "cl", "f"), PUBLISHED)
def test_catalogue_matches_published_effects(name, expresser, cl, f):
    effect = drugs.lookup_drug(name).effect(expresser)
    assert effect.cl_multiplier == pytest.approx(cl, rel=2e-3)
    assert effect.f_multiplier == pytest.approx(f, rel=2e-3)


def test_directions_follow_mechanisms():
    """Inhibitors never raise CL or lower F; inducers the reverse (loader-enforced), for every
    genotype class (CYP3A5 expresser x CYP2C19 status)."""
    for name in drugs.list_drugs():
        drug = drugs.lookup_drug(name)
        for genotype in range(drugs.GENOTYPE_CLASSES):
            effect = drug.effect(genotype)
            if drug.mechanism in ("reversible_inhibition", "mechanism_based_inhibition"):
                assert effect.cl_multiplier <= 1 <= effect.f_multiplier
            elif drug.mechanism == "induction":
                assert effect.f_multiplier <= 1 <= effect.cl_multiplier


def _entry(**extra):
    table = {
        "mechanism": "mechanism_based_inhibition",
        "mechanism_source": "Greenblatt2009",
        "effect": {"cl_multiplier": 0.5, "units": "1", "source": "Erba2023", "evidence": "D"},
    }
    return {**table, **extra}


def test_f_turnover_is_read_checked_and_defaults_to_the_cl_pool():
    from pksim.library.drugs import _interaction

    assert _interaction("x", _entry()).f_pool == "hepatic"
    assert _interaction("x", _entry(f_turnover="intestinal")).f_pool == "intestinal"
    with pytest.raises(ValueError, match=r"drugs\.x: f_turnover must be 'hepatic' or 'intestinal'"):
        _interaction("x", _entry(f_turnover="gut"))
    reversible = _entry(
        mechanism="reversible_inhibition",
        f_turnover="intestinal",
        onset_half_life={"value": 1.0, "units": "h", "source": "Erba2023", "evidence": "D"},
        offset_half_life={"value": 1.0, "units": "h", "source": "Erba2023", "evidence": "D"},
    )
    with pytest.raises(ValueError, match="f_turnover is only for effects that follow CYP3A"):
        _interaction("x", reversible)
    assert "F effect: follows intestinal CYP3A turnover" in drugs.describe_drug("paxlovid")


def _catalogue_with_change(victim, **entry):
    from pksim.library.cited import read_data

    data = read_data("interactions.toml")
    drugs_table = {name: dict(table) for name, table in data["drugs"].items()}
    change = {
        "exposure_ratio": 0.5,
        "units": "1",
        "source": "PrevymisLabel",
        "evidence": "I",
    } | entry
    drugs_table["letermovir"]["changes_exposure_of"] = {victim: change}
    return drugs._read_catalogue(data | {"drugs": drugs_table})


def test_exposure_changes_are_read_and_described():
    (change,) = drugs.lookup_drug("letermovir").exposure_changes
    assert (change.victim, change.exposure_ratio, change.evidence) == ("voriconazole", 0.56, "I")
    assert change.scaled_ratio(4.0) == pytest.approx(1.0 + 0.56 * 3.0)
    assert "PrevymisLabel" in drugs.lookup_drug("letermovir").sources
    assert "changes voriconazole's exposure x0.56" in drugs.describe_drug("letermovir")
    assert _catalogue_with_change("itraconazole").drugs["letermovir"].exposure_changes


@pytest.mark.parametrize(
    ("victim", "entry", "message"),
    [
        ("vorikonazol", {}, r"changes_exposure_of\.vorikonazol: must name another catalogue"),
        ("letermovir", {}, r"changes_exposure_of\.letermovir: must name another catalogue"),
        ("rifampicin", {}, r"rifampicin is induction; exposure scaling applies to reversible"),
        ("voriconazole", {"exposure_ratio": -1}, r"voriconazole\.exposure_ratio"),
        ("voriconazole", {"units": "%"}, r"voriconazole: units must be '1'"),
        ("voriconazole", {"evidence": "X"}, r"voriconazole: evidence must be one of"),
        ("voriconazole", {"ratio": 2}, r"voriconazole"),
    ],
)
def test_exposure_changes_reject_bad_entries(victim, entry, message):
    with pytest.raises(ValueError, match=message):
        _catalogue_with_change(victim, **entry)
