using System.Globalization;
using System.Text;
using Hl7.Fhir.Model;
using Interop.Fhir.Audit;
using Interop.Fhir.Errors;
using Interop.Fhir.Storage;
using Microsoft.Extensions.Options;

namespace Interop.Server.Rest;

/// <summary>
/// The access log over REST: search and read AuditEvent, $verify (the hash chains), $access-report (who accessed
/// a resident's record) and $export (NDJSON). AuditEvents live in their own table, not among the resources.
/// </summary>
public static class AuditEndpoints
{
    public static async Task<IResult> Search(HttpContext ctx, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        FhirHttp.Output(ctx);
        var options = ctx.RequestServices.GetRequiredService<IOptions<FhirOptions>>().Value;
        var query = AuditQuery.Parse(parameters, options.DefaultPageSize, options.MaxPageSize);
        var page = await ctx.Send<AuditPage>(new AuditSearchRequest(query));
        var baseUrl = FhirHttp.BaseUrl(ctx);
        string Link((DateTimeOffset, Guid)? cursor)
        {
            var items = query.Echo.Select(kv => $"{Uri.EscapeDataString(kv.Key)}={Uri.EscapeDataString(kv.Value)}").ToList();
            if (cursor is { } c) items.Add("_cursor=" + AuditQuery.EncodeCursor(c.Item1, c.Item2));
            return $"{baseUrl}/AuditEvent" + (items.Count > 0 ? "?" + string.Join("&", items) : "");
        }
        var links = new List<(string, string)> { ("self", Link(query.After)) };
        if (query.After is not null) links.Add(("first", Link(null)));
        if (page.Next is { } next) links.Add(("next", Link(next)));
        var entries = page.Records.Select(r => new BundleEntryModel($"{baseUrl}/AuditEvent/{r.Id:D}", Stored(r), SearchMode: "match")).ToList();
        return new BundleResult(new BundleModel(Bundle.BundleType.Searchset, page.Total, links, entries));
    }

    public static async Task<IResult> Read(string id, HttpContext ctx)
    {
        FhirHttp.Output(ctx);
        var result = await ctx.Send<AuditRecordResult>(new AuditReadRequest(id));
        return FhirResults.Version(Stored(result.Record));
    }

    public static async Task<IResult> Verify(HttpContext ctx)
    {
        FhirHttp.Output(ctx);
        var report = (await ctx.Send<VerifyResult>(new AuditVerifyRequest(Day(ctx, "start"), Day(ctx, "end")))).Report;
        var parameters = new Parameters();
        parameters.Add("result", new Code(report.Intact ? "intact" : "broken"));
        // R4's Parameters has no valueInteger64: an integer, or a decimal beyond its range.
        parameters.Add("checked", report.Checked <= int.MaxValue ? new Integer((int)report.Checked) : new FhirDecimal(report.Checked));
        parameters.Add("chains", new Integer(report.Chains));
        if (report.BrokenId is { } id) parameters.Add("record", new FhirString($"AuditEvent/{id}"));
        if (report.Expected is { } expected) parameters.Add("expected", new FhirString(expected));
        if (report.Found is { } found) parameters.Add("found", new FhirString(found));
        if (report.Problem is { } problem) parameters.Add("problem", new FhirString(problem));
        foreach (var c in report.Checkpoints ?? []) parameters.Add("checkpoint", new FhirString(c));
        return FhirResults.Resource(parameters);
    }

    public static async Task<IResult> AccessReport(HttpContext ctx)
    {
        var csv = ctx.Request.Query["_format"].ToString() is "text/csv" or "csv"
                  || ctx.Request.Headers.Accept.ToString().StartsWith("text/csv", StringComparison.OrdinalIgnoreCase);
        if (!csv) FhirHttp.Output(ctx);
        var patient = ctx.Request.Query["patient"].ToString();
        if (patient.Length == 0) throw FhirException.BadRequest("$access-report needs patient (Patient/{id} or the id).", "patient");
        if (!patient.Contains('/')) patient = "Patient/" + patient;
        var end = Instant(ctx, "end") ?? DateTimeOffset.UtcNow;
        var start = Instant(ctx, "start") ?? end.AddDays(-30);
        if (start >= end) throw FhirException.BadRequest("$access-report: start must be before end.", "start");
        var report = await ctx.Send<AccessReportResult>(new AccessReportRequest(patient, start, end));
        if (csv) return Results.Text(ReportCsv(report), Csv.ContentType);
        var parameters = new Parameters();
        parameters.Add("patient", new ResourceReference(report.Patient));
        parameters.Add("start", new Instant(report.Start));
        parameters.Add("end", new Instant(report.End));
        foreach (var line in report.Lines)
        {
            var parts = new List<Tuple<string, Base>>
            {
                Tuple.Create("recorded", (Base)new Instant(line.Recorded)),
                Tuple.Create("client", (Base)new FhirString(line.Client)),
                Tuple.Create("action", (Base)new Code(line.Action)),
                Tuple.Create("subtype", (Base)new Code(line.Subtype)),
                Tuple.Create("outcome", (Base)new Code(line.Outcome.ToString(CultureInfo.InvariantCulture))),
                Tuple.Create("what", (Base)new FhirString(line.What)),
                Tuple.Create("breakGlass", (Base)new FhirBoolean(line.BreakGlass)),
            };
            if (line.Reason is { } reason) parts.Add(Tuple.Create("reason", (Base)new FhirString(reason)));
            if (line.Institution is { } org) parts.Insert(1, Tuple.Create("institution", (Base)new ResourceReference(org)));
            if (line.Person is { } person) parts.Insert(1, Tuple.Create("person", (Base)new FhirString(person)));
            parameters.Add("access", parts);
        }
        return FhirResults.Resource(parameters);
    }

    public static async Task<IResult> Export(HttpContext ctx)
    {
        var end = Instant(ctx, "end") ?? DateTimeOffset.UtcNow;
        var start = Instant(ctx, "start") ?? throw FhirException.BadRequest("$export needs start (and optionally end): the period to export.", "start");
        var export = await ctx.Send<AuditExportResult>(new AuditExportRequest(start, end));
        return new NdjsonResult(export.WriteTo);
    }

    private sealed class NdjsonResult(Func<Stream, CancellationToken, System.Threading.Tasks.Task> writeTo) : IResult
    {
        public async System.Threading.Tasks.Task ExecuteAsync(HttpContext ctx)
        {
            ctx.Response.ContentType = "application/fhir+ndjson";
            await writeTo(ctx.Response.Body, ctx.RequestAborted);
        }
    }

    private static StoredVersion Stored(StoredAudit a) => new("AuditEvent", a.Id.ToString("D"), 1, a.Recorded, false, "POST", a.Json);

    private static string ReportCsv(AccessReportResult report)
    {
        var text = new StringBuilder("recorded,institution,person,client,action,subtype,outcome,what,break_glass,reason\n");
        foreach (var l in report.Lines)
            text.AppendJoin(',', l.Recorded.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), Csv.Cell(l.Institution), Csv.Cell(l.Person), Csv.Cell(l.Client),
                l.Action, l.Subtype, Csv.Cell(l.Outcome), Csv.Cell(l.What), Csv.Cell(l.BreakGlass), Csv.Cell(l.Reason)).Append('\n');
        return text.ToString();
    }

    private static DateOnly? Day(HttpContext ctx, string name)
    {
        var text = ctx.Request.Query[name].ToString();
        if (text.Length == 0) return null;
        return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day
            : throw FhirException.BadRequest($"{name}: '{text}' is not a date (YYYY-MM-DD).", name);
    }

    private static DateTimeOffset? Instant(HttpContext ctx, string name)
    {
        var text = ctx.Request.Query[name].ToString();
        if (text.Length == 0) return null;
        return Interop.Fhir.Indexing.FhirDates.TryParse(text, out var lo, out _) ? lo
            : throw FhirException.BadRequest($"{name}: '{text}' is not a FHIR date or dateTime.", name);
    }
}
