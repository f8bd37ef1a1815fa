using Hl7.Fhir.Model;
using static Interop.Server.Seed.SeedFhir;

namespace Interop.Server.Seed;

/// <summary>One institution of the group: its fixed id, name, kind (institution-kind) and parent.</summary>
public sealed record Institution(string Id, string Code, string Name, string Kind, string? PartOf);

/// <summary>
/// The group's institutions with fixed ids: the group, 5 district hospitals, 23 stations (5, 5, 5, 4, 4 per
/// hospital), the institute of precision medicine and the shared centres; plus one external hospital that is
/// not part of the group (a plain Organization) for care the residents get outside it.
/// </summary>
public static class Institutions
{
    public const string Group = "group", Institute = "institute", External = "external-hospital", Information = "centre-information", Quality = "centre-quality";

    public static readonly IReadOnlyList<Institution> Hospitals =
        [.. Enumerable.Range(1, 5).Select(h => new Institution($"hospital-{h}", $"HOS-{h:D4}", $"District Hospital {h}", "hospital", Group))];

    public static readonly IReadOnlyList<Institution> Stations =
        [.. Enumerable.Range(1, 23).Select(s => new Institution($"station-{s:D2}", $"STA-{s:D4}", $"Community Health Station {s:D2}", "station", HospitalOf(s)))];

    private static readonly (string Id, string Name)[] CentreNames =
    [
        ("centre-testing", "Medical Testing Centre"), ("centre-imaging", "Radiology and Imaging Centre"), (Information, "Information Centre"),
        ("centre-health-management", "Health Management Centre"), ("centre-logistics", "Logistics Centre"),
        ("centre-disinfection-supply", "Disinfection and Supply Centre"), ("centre-human-resources", "Human Resources Centre"),
        ("centre-finance", "Finance Centre"), (Quality, "Quality Management Centre"), ("centre-research-education", "Research and Education Centre"),
        ("centre-station-management", "Station Management Centre"), ("centre-general-management", "General Management Centre"),
    ];

    public static readonly IReadOnlyList<Institution> All =
    [
        new(Group, "GRP-0001", "Interop Hospital Group", "group", null),
        .. Hospitals, .. Stations,
        new(Institute, "INS-0001", "Institute of Precision Medicine", "institute", Group),
        .. CentreNames.Select((c, i) => new Institution(c.Id, $"CEN-{i + 1:D4}", c.Name, "shared-centre", Group)),
    ];

    /// <summary>Station s (1-based) belongs to hospital ((s - 1) mod 5) + 1: five hospitals with 5, 5, 5, 4, 4 stations.</summary>
    public static string HospitalOf(int station) => $"hospital-{(station - 1) % 5 + 1}";

    private static readonly Dictionary<string, string> KindDisplay = new()
    {
        ["group"] = "Hospital group", ["hospital"] = "District hospital", ["station"] = "Community health station",
        ["institute"] = "Institute", ["shared-centre"] = "Shared centre",
    };

    /// <summary>The Organizations: every institution (group-organization) and the external hospital (core only).</summary>
    public static IEnumerable<Organization> Organizations()
    {
        foreach (var i in All)
            yield return new Organization
            {
                Id = i.Id,
                Meta = Profile("group-organization"),
                Identifier = [new Identifier(IgBase + "sid/institution-code", i.Code)],
                Active = true,
                Type = [Concept(Kinds, i.Kind, KindDisplay[i.Kind])],
                Name = i.Name,
                PartOf = i.PartOf is null ? null : Ref("Organization", i.PartOf),
            };
        yield return new Organization
        {
            Id = External,
            Active = true,
            Type = [Concept("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider")],
            Name = "Hospital outside the group",
        };
    }
}
