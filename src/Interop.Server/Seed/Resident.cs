using Hl7.Fhir.Model;

namespace Interop.Server.Seed;

/// <summary>
/// What the generators of one resident's records share: the resident's own random stream, their station's team
/// (the GP they would sign with), age, chronic conditions (key → Condition id) and whether they hold a contract.
/// </summary>
public sealed record Resident(string Id, Random Rng, Team Team, string HospitalId, int Age, DateOnly AsOf)
{
    public Dictionary<string, string> Conditions { get; } = [];
    public bool Contracted { get; set; }
    public List<Resource> Resources { get; } = [];
    public bool Chronic => Conditions.Count > 0;
    public string StationId => Team.StationId;
}
