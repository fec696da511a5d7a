"""National code tables (全国建筑工人管理服务信息平台), from shared/spec/codes.md."""

from __future__ import annotations

WORK_TYPES: dict[str, str] = {
    "010": "砌筑工",
    "020": "钢筋工",
    "030": "架子工",
    "040": "混凝土工",
    "050": "模板工",
    "060": "机械设备安装工",
    "070": "通风工",
    "080": "安装起重工",
    "090": "安装钳工",
    "100": "电气设备安装调试工",
    "110": "管道工",
    "120": "变电安装工",
    "130": "建筑电工",
    "140": "司泵工",
    "150": "挖掘铲运和桩工机械司机",
    "160": "桩机操作工",
    "170": "起重信号工",
    "180": "建筑起重机械安装拆卸工",
    "190": "装饰装修工",
    "200": "室内成套设施安装工",
    "210": "建筑门窗幕墙安装工",
    "220": "幕墙制作工",
    "230": "防水工",
    "240": "木工",
    "250": "石工",
    "270": "电焊工",
    "280": "爆破工",
    "290": "除尘工",
    "300": "测量放线工",
    "310": "线路架设工",
    "320": "古建筑传统石工",
    "330": "古建筑传统瓦工",
    "340": "古建筑传统彩画工",
    "350": "古建筑传统木工",
    "360": "古建筑传统油工",
    "380": "金属工",
    "900": "管理人员",
}


def work_type_lookup() -> dict[str, str]:
    """Code or name -> code; uploads may use either, the tables keep the code."""
    out = {code: code for code in WORK_TYPES}
    out.update({name: code for code, name in WORK_TYPES.items()})
    # Sites often drop the leading zero when Excel turns "020" into a number.
    out.update({str(int(code)): code for code in WORK_TYPES})
    return out
