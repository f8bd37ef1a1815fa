using Hl7.Fhir.Model;
using Interop.Fhir.Workflows;
using Interop.Server.Web;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Interop.Server.Pages.Referrals;

/// <summary>One referral task as the worklist shows it.</summary>
public sealed record ReferralRow(
    string TaskId, string Version, string Status, string? Priority, DateTimeOffset? AuthoredOn, string PatientId, string PatientName,
    string Reason, string? Direction, string OtherParty, string? StatusReason, string? ReferralId, bool DownSent)
{
    public int PriorityRank => Priority switch { "stat" => 4, "asap" => 3, "urgent" => 2, "routine" => 1, _ => 0 };
    public bool Open => Status is "requested" or "accepted" or "in-progress" or "draft";
}

/// <summary>
/// The institution's referral worklist, read through the API with the user's token: incoming tasks (owner = the
/// institution) and outgoing ones (requester = the institution or one of its practitioners), each with its
/// referral and resident (_include), filtered by state and sorted by priority, age or state.
/// </summary>
public sealed class Worklist
{
    public const int Max = 200;
    public static readonly string[] States = ["open", "requested", "accepted", "in-progress", "completed", "rejected", "cancelled", "all"];
    public static readonly string[] Sorts = ["priority", "age", "state"];
    public static readonly IReadOnlyDictionary<string, string> SortLabels = new Dictionary<string, string> { ["priority"] = "Priority", ["age"] = "Age", ["state"] = "State" };
    private static readonly string[] StateOrder = ["requested", "accepted", "in-progress", "completed", "rejected", "cancelled"];

    public List<ReferralRow> Incoming { get; private set; } = [];
    public List<ReferralRow> Outgoing { get; private set; } = [];

    public static async Task<Worklist> Load(PageApi api, string institution, string? practitioner, string state, string sort, CancellationToken ct)
    {
        var names = new Institutions(api);
        var status = state switch { "open" => "&status=draft,requested,accepted,in-progress", "all" => "", _ => "&status=" + state };
        // Outgoing: requested by the institution itself or by any of its practitioners (through their roles there).
        var staff = await api.SearchAll<PractitionerRole>($"PractitionerRole?organization={institution}&_elements=practitioner&_count=200", 400, ct);
        var requesters = staff.Select(r => r.Practitioner?.Reference).Append(practitioner).Prepend(institution).OfType<string>().Distinct().ToList();
        var incoming = await Rows(api, names, $"owner={institution}{status}", incoming: true, ct);
        var outgoing = new List<ReferralRow>();
        foreach (var some in requesters.Chunk(40)) // a hospital has some 150 roles: several searches keep each URL short
            outgoing.AddRange(await Rows(api, names, $"requester={Uri.EscapeDataString(string.Join(",", some))}{status}", incoming: false, ct));
        outgoing = outgoing.DistinctBy(r => r.TaskId).ToList();
        // An up-referral already answered with a down-referral (based on it) offers no second one.
        var answered = outgoing.Where(r => r.Direction == "down").Select(r => r.ReferralId).ToHashSet();
        var down = await DownReferralsBasedOn(api, incoming.Where(r => r.Direction == "up" && r.Status is "in-progress" or "completed").Select(r => r.ReferralId!), ct);
        return new Worklist
        {
            Incoming = Sort(incoming.Select(r => down.Contains(r.ReferralId!) ? r with { DownSent = true } : r), sort),
            Outgoing = Sort(outgoing, sort),
        };
    }

    private static async Task<HashSet<string>> DownReferralsBasedOn(PageApi api, IEnumerable<string> referrals, CancellationToken ct)
    {
        var ids = referrals.Distinct().ToList();
        if (ids.Count == 0) return [];
        var found = await api.SearchAll<ServiceRequest>(
            $"ServiceRequest?based-on={Uri.EscapeDataString(string.Join(",", ids.Select(i => "ServiceRequest/" + i)))}&_count=100", Max, ct);
        return found.SelectMany(s => s.BasedOn).Select(b => b.Reference?.Split('/').Last()).OfType<string>().ToHashSet();
    }

    private static List<ReferralRow> Sort(IEnumerable<ReferralRow> rows, string sort) => sort switch
    {
        "age" => rows.OrderBy(r => r.AuthoredOn ?? DateTimeOffset.MaxValue).ToList(),
        "state" => rows.OrderBy(r => Array.IndexOf(StateOrder, r.Status)).ThenByDescending(r => r.PriorityRank).ThenBy(r => r.AuthoredOn).ToList(),
        _ => rows.OrderByDescending(r => r.PriorityRank).ThenBy(r => r.AuthoredOn ?? DateTimeOffset.MaxValue).ToList(),
    };

    private static async Task<List<ReferralRow>> Rows(PageApi api, Institutions names, string criteria, bool incoming, CancellationToken ct)
    {
        var bundle = await api.Search($"Task?{criteria}&code={Uri.EscapeDataString(GroupCodes.TaskCode + "|fulfill")}" +
                                      $"&_include=Task:patient&_include=Task:based-on:ServiceRequest&_sort=-authored-on&_count={Max}", ct);
        var included = bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Include && e.Resource is not null)
            .GroupBy(e => e.Resource!.TypeName + "/" + e.Resource!.Id).ToDictionary(g => g.Key, g => g.First().Resource!);
        var rows = new List<ReferralRow>();
        foreach (var task in bundle.Entry.Where(e => e.Search?.Mode != Bundle.SearchEntryMode.Include).Select(e => e.Resource).OfType<FhirTask>())
        {
            var referralKey = task.BasedOn.FirstOrDefault()?.Reference;
            var referral = referralKey is null ? null : included.GetValueOrDefault(referralKey) as ServiceRequest;
            var patientKey = task.For?.Reference ?? "";
            var patient = included.GetValueOrDefault(patientKey) as Patient;
            var party = incoming ? task.Requester : task.Owner;
            var partyInstitution = await names.Of(party, ct);
            rows.Add(new ReferralRow(
                task.Id ?? "", task.Meta?.VersionId ?? "", Literal(task.Status) ?? "", Literal(task.Priority ?? referral?.Priority),
                Parse(task.AuthoredOn) ?? Parse(referral?.AuthoredOn), patientKey.Split('/').Last(), Name(patient) ?? patientKey,
                referral is null ? "" : string.Join("; ", referral.ReasonCode.Select(c => c.Text ?? c.Coding.FirstOrDefault()?.Display).Where(t => t is not null)),
                referral?.GetExtensionValue<Code>(GroupCodes.ReferralDirection)?.Value,
                partyInstitution is null ? party?.Display ?? party?.Reference ?? "" : await names.Name(partyInstitution, ct),
                task.StatusReason?.Text ?? task.StatusReason?.Coding.FirstOrDefault()?.Display,
                referralKey?.Split('/').Last(), false));
        }
        return rows;
    }

    public static string? Name(Patient? patient)
    {
        var name = patient?.Name.FirstOrDefault();
        if (name is null) return null;
        if (!string.IsNullOrWhiteSpace(name.Text)) return name.Text;
        return string.Join(" ", name.Given.Append(name.Family).Where(p => !string.IsNullOrWhiteSpace(p)));
    }

    public static DateTimeOffset? Parse(string? instant) =>
        DateTimeOffset.TryParse(instant, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    private static string? Literal<T>(T? value) where T : struct, Enum => value is { } v ? Hl7.Fhir.Utility.EnumUtility.GetLiteral(v) : null;
}
