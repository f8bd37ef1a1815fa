using Hl7.Fhir.Model;
using Interop.Fhir.Storage;
using Interop.Server.Web;

namespace Interop.Server.Pages.Timeline;

/// <summary>One entry of the timeline: when, what, and which institution recorded it.</summary>
public sealed record Entry(DateTimeOffset? When, string Kind, string Title, string? Detail, string? Status,
    string? Institution, string InstitutionName, string? Writer, string Reference);

/// <summary>
/// One resident's record across the group, read through the API with the user's token (and, after breaking the glass,
/// the reason): the resident, then their encounters, conditions, referrals, care plans and observations, newest first.
/// The resource does not carry the institution its writer acted for (the server keeps that on the version row; the
/// resource carries the writing client as meta.tag urn:interop:writer), so each entry names the institution its own
/// content gives as the recorder — the encounter's service provider, the condition's recorder or asserter, the
/// observation's performer, the referral's requester, the care plan's author — a practitioner through their role's
/// organisation; the writing client is shown beside it.
/// </summary>
public static class Record
{
    public const int PerKind = 200;
    /// <summary>Each kind of entry and its English label (translated by the page).</summary>
    public static readonly IReadOnlyDictionary<string, string> Kinds = new Dictionary<string, string>
    {
        ["encounter"] = "Encounter", ["condition"] = "Condition", ["referral"] = "Referral", ["care-plan"] = "Care plan", ["observation"] = "Observation",
    };

    public static async Task<List<Entry>> Load(PageApi api, string patientId, CancellationToken ct)
    {
        var institutions = new Institutions(api);
        var subject = "subject=Patient/" + Uri.EscapeDataString(patientId);
        var entries = new List<Entry>();
        async System.Threading.Tasks.Task Add<T>(string query, string kind, Func<T, (DateTimeOffset?, string, string?, string?, IEnumerable<ResourceReference?>)> describe) where T : Resource
        {
            foreach (var resource in await api.SearchAll<T>(query, PerKind, ct))
            {
                var (when, title, detail, status, recorders) = describe(resource);
                var institution = await institutions.First(recorders, ct);
                entries.Add(new Entry(when ?? resource.Meta?.LastUpdated, kind, title, detail, status, institution,
                    institution is null ? "" : await institutions.Name(institution, ct),
                    resource.Meta?.Tag.FirstOrDefault(t => t.System == WriteContext.TagSystem)?.Code,
                    resource.TypeName + "/" + resource.Id));
            }
        }
        await Add<Encounter>($"Encounter?{subject}&_sort=-date&_count=100", "encounter", e => (
            Parse(e.Period?.Start), Concept(e.Type.FirstOrDefault()) ?? e.Class?.Display ?? e.Class?.Code ?? "Encounter",
            Concept(e.ReasonCode.FirstOrDefault()), Literal(e.Status),
            e.ParticipantIndividual().Prepend(e.ServiceProvider)));
        await Add<Condition>($"Condition?{subject}&_sort=-recorded-date&_count=100", "condition", c => (
            Parse(c.RecordedDate) ?? Parse((c.Onset as FhirDateTime)?.Value), Concept(c.Code) ?? "Condition",
            null, Concept(c.ClinicalStatus), [c.Recorder, c.Asserter]));
        await Add<ServiceRequest>($"ServiceRequest?{subject}&_sort=-authored&_count=100", "referral", s => (
            Parse(s.AuthoredOn), Concept(s.Code) ?? "Referral",
            string.Join("; ", s.ReasonCode.Select(Concept).Where(t => t is not null)), Literal(s.Status), [s.Requester]));
        await Add<CarePlan>($"CarePlan?{subject}&_count=100", "care-plan", p => (
            Parse(p.Period?.Start) ?? Parse(p.Created), p.Title ?? Concept(p.Category.FirstOrDefault()) ?? "Care plan",
            p.Description, Literal(p.Status), p.Contributor.Prepend(p.Author)));
        await Add<Observation>($"Observation?{subject}&_sort=-date&_count=100", "observation", o => (
            Effective(o) ?? o.Issued, Concept(o.Code) ?? "Observation", Value(o), Literal(o.Status), o.Performer));
        return entries.OrderByDescending(e => e.When ?? DateTimeOffset.MinValue).ToList();
    }

    private static IEnumerable<ResourceReference?> ParticipantIndividual(this Encounter e) => e.Participant.Select(p => p.Individual);

    private static DateTimeOffset? Effective(Observation o) => o.Effective switch
    {
        FhirDateTime d => Parse(d.Value),
        Period p => Parse(p.Start),
        Instant i => i.Value,
        _ => null,
    };

    private static string? Value(Observation o)
    {
        if (o.Component.Count > 0)
            return string.Join(" / ", o.Component.Select(c => Quantity(c.Value) ?? c.Value?.ToString()).Where(v => v is not null));
        return Quantity(o.Value) ?? (o.Value as CodeableConcept)?.Text ?? (o.Value as FhirString)?.Value;
    }

    private static string? Quantity(DataType? value) => value is Quantity q ? $"{q.Value:0.##} {q.Unit ?? q.Code}".Trim() : null;

    private static string? Concept(CodeableConcept? c) => c is null ? null : c.Text ?? c.Coding.Select(x => x.Display ?? x.Code).FirstOrDefault(t => t is not null);

    private static string? Literal<T>(T? value) where T : struct, Enum => value is { } v ? Hl7.Fhir.Utility.EnumUtility.GetLiteral(v) : null;

    private static DateTimeOffset? Parse(string? when) => Referrals.Worklist.Parse(when);
}
