# ruff: noqa: RUF001  (Chinese text uses full-width punctuation on purpose)
"""The app's interface text in English and Chinese (simplified).

Only the interface is translated: scenario content (titles, regimen names), validation
messages and table headings of the results stay as pksim writes them everywhere else, so that
what the app shows matches ``pksim run`` and the report word for word.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["LANGUAGES", "TEXT", "text"]

LANGUAGES = MappingProxyType({"en": "English", "zh": "中文"})
"""Interface languages: code -> the name shown on the language switch."""

TEXT = MappingProxyType(
    {
        "app_title": ("pksim: tacrolimus trough simulation", "pksim：他克莫司谷浓度模拟"),
        "cohort_tab": ("Cohort", "人群模拟"),
        "patient_tab": ("One patient", "单个患者"),
        "about_tab": ("About", "关于"),
        "scenario": ("Scenario", "场景"),
        "new_scenario": ("new (build one)", "新建场景"),
        "upload": ("or open a scenario file", "或打开场景文件"),
        "title": ("Title", "标题"),
        "subjects": ("Subjects", "受试者人数"),
        "days": ("Days", "天数"),
        "seed": ("Random seed", "随机种子"),
        "population": ("Population", "人群"),
        "population_settings": ("Population settings", "人群参数"),
        "parameter_set": ("Parameter set", "药代动力学参数集"),
        "regimens": ("Regimens", "给药方案"),
        "regimen_name": ("Name", "名称"),
        "dose_kind": ("Dose given as", "剂量方式"),
        "daily_dose_mg": ("mg/day", "mg/天"),
        "mg_per_kg_per_day": ("mg/kg/day", "mg/kg/天"),
        "weight_bands": ("weight bands", "按体重分段"),
        "amount": ("Dose", "剂量"),
        "bands": ("Bands (e.g. 60: 2; 3)", "体重分段（例：60: 2; 3）"),
        "doses_per_day": ("Doses a day", "每日服药次数"),
        "formulation": ("Formulation", "剂型"),
        "rounding": ("Rounding", "剂量取整"),
        "max_daily": ("Max mg/day", "每日最大剂量 mg"),
        "over_time": ("Dosing over time", "随时间调整给药"),
        "changes": (
            "Dose changes (e.g. 15: x0.3333; 29: advagraf, 1/day; 43: 5 mg)",
            "剂量调整（例：15: x0.3333; 29: advagraf, 1/day; 43: 5 mg）",
        ),
        "holds": ("Held days (e.g. 15-19)", "停药日（例：15-19）"),
        "tdm_rule": ("Monitoring (TDM) rule", "血药浓度监测（TDM）规则"),
        "sample_days": ("Trough sample days (e.g. 7, 14)", "采样日（例：7, 14）"),
        "result_delay": ("Result delay (days)", "结果延迟（天）"),
        "aim": ("Aim ng/mL", "目标值 ng/mL"),
        "max_fold": ("Max fold change", "最大调整倍数"),
        "steps": (
            "Steps (e.g. 0-6: +0.5; 6-10: 0; 10-: -0.5 hold 1)",
            "阶梯调整（例：0-6: +0.5; 6-10: 0; 10-: -0.5 hold 1）",
        ),
        "over_time_tab": ("Over time", "随时间变化"),
        "dose_tab": ("Dose response", "剂量-效应"),
        "dose_intro": (
            "Target attainment of one regimen of the cohort page's scenario at each candidate "
            "daily dose (same patients, same schedule, formulation, ceilings and rounding). "
            "A regimen with dose changes or monitoring cannot be used here.",
            "在“人群模拟”页场景中选择一个方案，计算各候选日剂量下的达标率"
            "（相同患者、给药时间、剂型、上限和取整）。含剂量调整或监测的方案不适用。",
        ),
        "dose_regimen": ("Regimen", "给药方案"),
        "candidates": (
            "Candidate doses (e.g. 1:6:0.5 or 2, 3, 4)",
            "候选剂量（例：1:6:0.5 或 2, 3, 4）",
        ),
        "units": ("Units", "单位"),
        "max_above": ("Max % above range", "高于范围的最大比例 %"),
        "compute": ("Compute", "计算"),
        "mipd_heading": ("Bayesian individualisation", "贝叶斯个体化给药"),
        "mipd_intro": (
            "Measured troughs and the dose history as a NONMEM-style table (ID, TIME h, AMT mg, "
            "EVID, II, ADDL, DV ng/mL, covariates; see docs/mipd.md): type it, upload a CSV, or "
            "write it from the covariates and dose above and the troughs measured at the end of "
            "the given days. The parameter set is the prior; the fit is its MAP estimate.",
            "实测谷浓度与给药史采用 NONMEM 格式表（ID、TIME 小时、AMT mg、EVID、II、ADDL、"
            "DV ng/mL 及协变量，详见 docs/mipd.md）：可直接输入、上传 CSV，或根据上方的协变量、"
            "剂量及指定日末测得的谷浓度生成。参数集为先验，拟合结果为最大后验（MAP）估计。",
        ),
        "troughs": ("Measured troughs (day: ng/mL; …)", "实测谷浓度（日: ng/mL; …）"),
        "write_history": ("Write history from the form", "根据表单生成给药史"),
        "upload_history": ("or upload a NONMEM-style CSV", "或上传 NONMEM 格式 CSV"),
        "history": ("Dose history and troughs (CSV)", "给药史与谷浓度（CSV）"),
        "forecast": ("Forecast days", "预测天数"),
        "fit": ("Fit and suggest doses", "拟合并推荐剂量"),
        "converged": ("converged", "已收敛"),
        "not_converged": ("NOT converged", "未收敛"),
        "observations": ("observation(s)", "个观测值"),
        "map_parameters": (
            "MAP parameters (typical, individual, 90 % Laplace interval)",
            "最大后验参数（典型值、个体值、90% 拉普拉斯区间）",
        ),
        "genotype_posterior": (
            "CYP3A5 genotype not given: fitted under each genotype (prior, posterior)",
            "未提供 CYP3A5 基因型：按各基因型分别拟合（先验、后验概率）",
        ),
        "genotype_mode": ("Most probable genotype", "最可能基因型"),
        "genotype_note": (
            "The MAP parameters and fit below are its; the forecast and dose options are over "
            "all genotypes.",
            "下列最大后验参数与拟合为该基因型的结果；预测与剂量方案综合各基因型。",
        ),
        "fit_table": ("Observed and predicted troughs", "实测与预测谷浓度"),
        "dose_options": (
            "Dose options (predicted trough and probability in range)",
            "剂量方案（预测谷浓度及达标概率）",
        ),
        "add_regimen": ("+ regimen", "+ 添加方案"),
        "remove": ("remove", "删除"),
        "food": ("Food", "进食"),
        "comedications": ("Co-medications", "合并用药"),
        "drug": ("Drug (English or 中文)", "药物（中文或英文）"),
        "start_day": ("From day", "开始日"),
        "stop_day": ("To day (blank: end)", "结束日（空：至结束）"),
        "fraction": ("Share of cohort", "服用比例"),
        "add_comedication": ("+ co-medication", "+ 添加合并用药"),
        "target": ("Target", "目标"),
        "lower": ("Lower ng/mL", "下限 ng/mL"),
        "upper": ("Upper ng/mL", "上限 ng/mL"),
        "target_day": ("Judged on day (blank: scenario)", "评估日（空：按场景）"),
        "run": ("Run", "运行"),
        "running": ("Simulating…", "模拟中…"),
        "done": (
            "Run {k}: {n:,} subjects simulated in {s:.2f} s",
            "第 {k} 次运行：已模拟 {n:,} 名受试者，用时 {s:.2f} 秒",
        ),
        "problem": ("Please correct:", "请修正："),
        "attainment": ("Target attainment", "达标率"),
        "compare": ("Regimens side by side", "方案对比"),
        "plots": ("Plots", "图表"),
        "subgroups": ("Subgroups", "亚组"),
        "subgroup": ("Subgroup", "亚组"),
        "downloads": ("Downloads", "下载"),
        "download_toml": ("Scenario (TOML)", "场景文件 (TOML)"),
        "download_csv": ("Table (CSV)", "结果表 (CSV)"),
        "download_xlsx": ("Table (Excel)", "结果表 (Excel)"),
        "download_report": ("Report (HTML)", "报告 (HTML)"),
        "no_result": ("Press Run to simulate.", "点击“运行”开始模拟。"),
        "patient_intro": (
            "Predicted trough course of one typical patient (no variability) with these "
            "covariates and doses.",
            "按以下协变量和给药方案预测典型患者（不含变异）的谷浓度变化。",
        ),
        "sex": ("Sex", "性别"),
        "age": ("Age (years)", "年龄（岁）"),
        "weight": ("Weight (kg)", "体重（kg）"),
        "hematocrit": ("Hematocrit (%)", "红细胞压积（%）"),
        "cyp3a5": ("CYP3A5 genotype", "CYP3A5 基因型"),
        "egfr": ("eGFR (mL/min/1.73 m²)", "eGFR（mL/min/1.73 m²）"),
        "prednisone": ("Prednisone (mg/day)", "泼尼松（mg/天）"),
        "daily_dose": ("Daily dose (mg)", "日剂量（mg）"),
        "predict": ("Predict", "预测"),
        "trough_by_day": ("Trough by day", "每日谷浓度"),
        "language": ("Language", "语言"),
        "about": (
            "pksim simulates tacrolimus trough concentrations for virtual cohorts. Results "
            "describe a population under a dosing rule, not one patient's future trough. "
            "Every number of the model is cited: see the report's model section.",
            "pksim 模拟虚拟人群的他克莫司谷浓度。结果描述的是某给药方案下的人群分布，"
            "而非单个患者的未来谷浓度。模型的每个数值均有文献出处，详见报告中的模型部分。",
        ),
    }
)
"""Interface text by key: (English, Chinese)."""


def text(key: str, language: str) -> str:
    """The interface text ``key`` in ``language`` ("en" or "zh")."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {list(LANGUAGES)}, got {language!r}")
    return TEXT[key][list(LANGUAGES).index(language)]
