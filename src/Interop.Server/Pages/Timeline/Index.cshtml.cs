using Hl7.Fhir.Model;
using Interop.Server.Web;
using Microsoft.AspNetCore.Mvc;

namespace Interop.Server.Pages.Timeline;

/// <summary>
/// /timeline/{patientId}: one resident's record across the group's institutions, newest first, grouped by month or
/// day, each entry with the institution that recorded it. When the access policy refuses, the refusal — and, for a
/// user with the break-glass role, a form to break the glass with a reason, which re-reads with X-Break-Glass.
/// /timeline: a search for a resident by name or identifier (the API lists only residents the user may see).
/// </summary>
public sealed partial class TimelineModel : PageBase
{
    [BindProperty(SupportsGet = true)] public string? PatientId { get; set; }
    [BindProperty(SupportsGet = true)] public string? Q { get; set; }
    [BindProperty(SupportsGet = true)] public string Group { get; set; } = "month";

    public Patient? Resident { get; private set; }
    public List<Entry> Entries { get; private set; } = [];
    public List<Patient>? Found { get; private set; }
    /// <summary>The reason the glass was broken with, when this record is shown because of it.</summary>
    public string? BrokeGlassWith { get; private set; }
    public bool MayBreakGlass => SignedIn?.Is("break-glass") == true && PatientId is not null && Refusal?.Forbidden == true;

    public async Task<IActionResult> OnGet(CancellationToken ct)
    {
        if (PatientId is null)
        {
            if (!string.IsNullOrWhiteSpace(Q)) Found = await Search(Q.Trim(), ct);
            return Page();
        }
        await Load(ct);
        return Page();
    }

    /// <summary>Breaks the glass: the same reads with the reason in X-Break-Glass (the API checks the role and logs it).</summary>
    public async Task<IActionResult> OnPostBreakGlass(string? reason, CancellationToken ct)
    {
        if (PatientId is null) return RedirectToPage();
        reason = reason?.Trim();
        if (string.IsNullOrEmpty(reason))
        {
            Refusal = new PageApiException(System.Net.HttpStatusCode.BadRequest, T["Breaking the glass needs the reason for the emergency access."]);
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        Api.BreakGlass = reason;
        await Load(ct);
        BrokeGlassWith = reason;
        return Page();
    }

    private async System.Threading.Tasks.Task Load(CancellationToken ct)
    {
        if (Group is not ("month" or "day")) Group = "month";
        Resident = await Api.Read<Patient>("Patient/" + Uri.EscapeDataString(PatientId!), ct);
        Entries = await Record.Load(Api, PatientId!, ct);
    }

    private async Task<List<Patient>> Search(string q, CancellationToken ct)
    {
        var byName = await Api.SearchAll<Patient>($"Patient?name={Uri.EscapeDataString(q)}&_count=20", 20, ct);
        var byIdentifier = await Api.SearchAll<Patient>($"Patient?identifier={Uri.EscapeDataString(q)}&_count=20", 20, ct);
        return byIdentifier.Concat(byName).DistinctBy(p => p.Id).Take(30).ToList();
    }

    /// <summary>The entries by month or by day, newest first, each group with its heading.</summary>
    public IEnumerable<(string Key, string Heading, List<Entry> Entries)> Groups() =>
        Entries.GroupBy(e => e.When is { } at ? at.ToString(Group == "day" ? "yyyy-MM-dd" : "yyyy-MM") : "")
            .Select(g => (g.Key, g.Key.Length == 0 ? T["Undated"]
                : Group == "day" ? g.First().When!.Value.ToString(T.Chinese ? "yyyy年M月d日" : "d MMMM yyyy", T.Culture)
                : g.First().When!.Value.ToString(T.Chinese ? "yyyy年M月" : "MMMM yyyy", T.Culture), g.ToList()));

    public static string ResidentName(Patient? p) => Referrals.Worklist.Name(p) ?? p?.Id ?? "";

    public static string? ResidentIdentifier(Patient? p) =>
        p?.Identifier.FirstOrDefault(i => i.Use == Identifier.IdentifierUse.Official)?.Value ?? p?.Identifier.FirstOrDefault()?.Value;
}
