using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Measures;
using Interop.Fhir.Pipeline;

namespace Interop.Server.Rest;

/// <summary>$evaluate-measure on the group's indicators (Measure/{id}/$evaluate-measure and Measure/$evaluate-measure?measure=…).</summary>
public static class MeasureEndpoints
{
    /// <summary>
    /// GET|POST [base]/Measure[/{id}]/$evaluate-measure: periodStart, periodEnd (required), reporter, measure (type level),
    /// reportType (summary) from the query and, for a POST, a Parameters body. 200 with a summary MeasureReport.
    /// </summary>
    public static async Task<IResult> Evaluate(HttpContext ctx, string? id = null)
    {
        FhirHttp.Output(ctx);
        var parameters = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in ctx.Request.Query)
            foreach (var value in values)
                if (value is not null) parameters.Add(new(name, value));
        if (HttpMethods.IsPost(ctx.Request.Method) && (ctx.Request.ContentLength > 0 || ctx.Request.ContentLength is null && ctx.Request.ContentType is not null))
        {
            if (await FhirHttp.ReadResource(ctx) is not Parameters body)
                throw FhirException.BadRequest("$evaluate-measure invoked with POST takes a Parameters resource.", "resourceType");
            foreach (var p in body.Parameter)
                parameters.Add(new(p.Name ?? "", p.Value switch
                {
                    ResourceReference r => r.Reference ?? "",
                    PrimitiveType primitive => primitive.ToString() ?? "",
                    _ => throw FhirException.BadRequest($"$evaluate-measure's {p.Name} takes a simple value (valueDate, valueString, valueReference).", $"Parameters.parameter[{p.Name}]"),
                }));
        }
        var result = await ctx.Send<MeasureReportResult>(new EvaluateMeasureRequest(id, parameters));
        return FhirResults.Resource(result.Report);
    }
}
