using Interop.Server.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace Interop.Server.Pages.Referrals;

/// <summary>
/// /referrals: the signed-in clinician's institution's referral worklist — incoming and outgoing referral tasks with
/// priority, age and state, filtered and sorted; accept, reject, start, complete, cancel and refer down through the
/// server's state machine; live updates from the subscription channel (handler Events, server-sent events).
/// </summary>
public sealed partial class ReferralsModel : PageBase
{
    [BindProperty(SupportsGet = true)] public string State { get; set; } = "open";
    [BindProperty(SupportsGet = true)] public string Sort { get; set; } = "priority";
    /// <summary>After an action: the task and what was done to it, for the notice.</summary>
    [BindProperty(SupportsGet = true)] public string? Done { get; set; }
    [BindProperty(SupportsGet = true)] public string? TaskId { get; set; }

    public Worklist? List { get; private set; }
    public string? Institution => SignedIn?.Institution is { } i ? Institutions.Key(i) : null;
    public DateTimeOffset Now { get; } = DateTimeOffset.UtcNow;

    public async Task<IActionResult> OnGet(CancellationToken ct)
    {
        await Load(ct);
        return Page();
    }

    /// <summary>The two tables alone, for the script to swap in when the channel says something changed.</summary>
    public async Task<IActionResult> OnGetTable(CancellationToken ct)
    {
        await Load(ct);
        return Partial("_Worklist", this);
    }

    /// <summary>One action on one task: act = "{task}|{version}|{target}"; reason-{task} and summary-{task} as needed.</summary>
    public async Task<IActionResult> OnPostAct(string? act, CancellationToken ct)
    {
        var parts = (act ?? "").Split('|');
        if (parts.Length != 3 || Institution is null || !(Moves.Targets.Contains(parts[2]) || parts[2] == "down"))
            return await Refused(new PageApiException(System.Net.HttpStatusCode.BadRequest, T["The action was not understood."]), ct);
        var (task, version, target) = (parts[0], parts[1], parts[2]);
        var reason = Request.Form["reason-" + task].ToString();
        try
        {
            if (target == "down")
            {
                var summary = Request.Form["summary-" + task].ToString();
                if (string.IsNullOrWhiteSpace(summary))
                    throw new PageApiException(System.Net.HttpStatusCode.UnprocessableEntity, T["A down-referral carries the discharge summary: write it first."]);
                var made = await Moves.ReferDown(Api, new Institutions(Api), Institution, Practitioner, task, version, summary, reason, ct);
                return RedirectToPage(new { State, Sort, Done = "down", TaskId = made.Id });
            }
            await Moves.Move(Api, task, version, target, reason, ct);
            return RedirectToPage(new { State, Sort, Done = target, TaskId = task });
        }
        catch (PageApiException refused) when (refused.Status != System.Net.HttpStatusCode.Unauthorized)
        {
            return await Refused(refused, ct);
        }
    }

    /// <summary>Server-sent events: "ready" once the channel is bound, "change" for each notification.</summary>
    public async Task<IActionResult> OnGetEvents(CancellationToken ct)
    {
        if (Institution is null) return StatusCode(StatusCodes.Status403Forbidden);
        var auth = await HttpContext.AuthenticateAsync(PagesSetup.CookieScheme);
        var token = auth.Properties?.GetTokenValue("access_token");
        if (token is null) return Unauthorized();
        var local = HttpContext.RequestServices.GetRequiredService<LocalListener>().Address;
        var live = new LiveEvents(Api, local, token);
        var subscriptions = await live.Subscriptions(Institution, ct);
        await live.Relay(Response, subscriptions, ct);
        return new EmptyResult();
    }

    private string? Practitioner => SignedIn?.FhirUser is { } f && f.StartsWith("Practitioner/", StringComparison.Ordinal) ? f : null;

    // The API's refusal in the page's refusal box, above the worklist as it is now.
    private async Task<IActionResult> Refused(PageApiException refused, CancellationToken ct)
    {
        Refusal = refused;
        Response.StatusCode = (int)refused.Status;
        try { await Load(ct); }
        catch (PageApiException) { List = null; }
        return Page();
    }

    private async System.Threading.Tasks.Task Load(CancellationToken ct)
    {
        if (!Worklist.States.Contains(State)) State = "open";
        if (!Worklist.Sorts.Contains(Sort)) Sort = "priority";
        if (Institution is null) return;
        List = await Worklist.Load(Api, Institution, Practitioner, State, Sort, ct);
    }

    public string Age(DateTimeOffset? authored)
    {
        if (authored is not { } at) return "—";
        var age = Now - at;
        if (age.TotalDays >= 1) return T.Format("{0} d {1} h", (int)age.TotalDays, age.Hours);
        if (age.TotalHours >= 1) return T.Format("{0} h {1} min", (int)age.TotalHours, age.Minutes);
        return T.Format("{0} min", Math.Max(0, (int)age.TotalMinutes));
    }
}
