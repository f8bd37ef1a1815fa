namespace Interop.Server.Seed;

/// <summary>
/// Chinese names for synthetic people: the most common family names with rough frequency weights (the
/// 2020 household-register ranking: Wang, Li, Zhang, Liu, Chen… together about half the population) and
/// common given names by gender.
/// </summary>
public static class Names
{
    private static readonly (string Name, double Weight)[] Family =
    [
        ("Wang", 7.1), ("Li", 7.0), ("Zhang", 6.4), ("Liu", 5.4), ("Chen", 4.5), ("Yang", 3.1), ("Huang", 2.3), ("Zhao", 2.3),
        ("Wu", 2.0), ("Zhou", 1.9), ("Xu", 1.5), ("Sun", 1.4), ("Ma", 1.3), ("Zhu", 1.3), ("Hu", 1.2), ("Guo", 1.1),
        ("He", 1.0), ("Lin", 1.0), ("Gao", 1.0), ("Luo", 0.9), ("Zheng", 0.9), ("Liang", 0.9), ("Xie", 0.7), ("Song", 0.7),
        ("Tang", 0.7), ("Deng", 0.6), ("Feng", 0.5), ("Han", 0.5), ("Cao", 0.5), ("Zeng", 0.5),
    ];

    private static readonly string[] Female =
        ["Fang", "Na", "Min", "Jing", "Li", "Xiuying", "Yan", "Juan", "Xia", "Ping", "Hong", "Ling", "Yun", "Lan", "Hui", "Ying", "Mei", "Qing", "Xue", "Ting"];

    private static readonly string[] Male =
        ["Wei", "Qiang", "Lei", "Jun", "Yong", "Jie", "Tao", "Ming", "Chao", "Gang", "Hao", "Bin", "Hui", "Peng", "Hua", "Jian", "Long", "Bo", "Yang", "Feng"];

    /// <summary>(family, given) for a person of the gender given.</summary>
    public static (string Family, string Given) Of(Random rng, bool female)
    {
        var family = SeedFhir.Pick(rng, Family);
        var given = female ? Female[rng.Next(Female.Length)] : Male[rng.Next(Male.Length)];
        return (family, given);
    }
}
