using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;

namespace Interop.Server.Pages.Audit;

/// <summary>One record of the access log as the console shows it, read from the AuditEvent the API returned.</summary>
public sealed record AuditRow(string Id, DateTimeOffset? Recorded, string? Subtype, string? Action, string? Outcome, string? OutcomeDesc,
    string? Person, string? Institution, string? Client, IReadOnlyList<string> Residents, IReadOnlyList<string> What, string? BreakGlass)
{
    private const string ClientSystem = "urn:interop:client";

    public static AuditRow Of(AuditEvent e)
    {
        var person = e.Agent.FirstOrDefault(a => a.Requestor == true && a.Who?.Identifier?.System != ClientSystem);
        var org = e.Agent.FirstOrDefault(a => a.Who?.Reference?.StartsWith("Organization/", StringComparison.Ordinal) == true);
        var client = e.Agent.FirstOrDefault(a => a.Who?.Identifier?.System == ClientSystem);
        string? Role(AuditEvent.EntityComponent x) => x.Role?.Code;
        var btg = e.PurposeOfEvent.FirstOrDefault(p => p.Coding.Any(c => c.Code == "BTG"));
        return new AuditRow(e.Id ?? "", e.Recorded, e.Subtype.FirstOrDefault()?.Code ?? e.Type?.Code, e.Action?.GetLiteral(), OutcomeOf(e), e.OutcomeDesc,
            person is null ? null : Join(person.Who?.Display, person.Who?.Reference), org?.Who?.Reference, client?.Who?.Identifier?.Value,
            [.. e.Entity.Where(x => Role(x) == "1").Select(x => x.What?.Reference).OfType<string>()],
            [.. e.Entity.Where(x => Role(x) == "4").Select(x => x.What?.Reference).OfType<string>()],
            btg is null ? null : btg.Text ?? "BTG");
    }

    /// <summary>The BALP outcome code: 0 success, 4 refused or invalid, 8 the server failed.</summary>
    private static string? OutcomeOf(AuditEvent e) => e.Outcome?.GetLiteral();

    private static string? Join(string? name, string? reference) =>
        name is null ? reference : reference is null ? name : $"{name} ({reference})";
}
