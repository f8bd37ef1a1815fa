using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Pipeline;

namespace Interop.Fhir.Measures;

/// <summary>$evaluate-measure's answer: a summary or subject-list MeasureReport, and the residents it names (for the access log).</summary>
public sealed record MeasureReportResult(MeasureReport Report, IReadOnlyCollection<string> Subjects) : InteractionResult(Model.ResultKind.Ok), INamesPatients
{
    public IReadOnlyCollection<string> Patients => Subjects;
}

/// <summary>
/// $evaluate-measure: checks the parameters (400 naming each problem), reads the Measure (a nested read, so the
/// caller's scopes apply and it is audited), checks the reporter exists, and computes the indicator in SQL.
/// </summary>
public sealed class EvaluateMeasureHandler(MeasureEvaluator evaluator) : Handler<EvaluateMeasureRequest>
{
    protected override async Task<InteractionResult> Handle(EvaluateMeasureRequest r, InteractionCall call, CancellationToken ct)
    {
        var parameters = MeasureParameters.Parse(r);
        var read = (VersionResult)await call.Nested(new ReadRequest("Measure", parameters.MeasureId), ct);
        var measure = (Measure)FhirSerialization.ParseStored(read.Version.Json!);
        if (!MeasureEvaluator.Indicators.TryGetValue(parameters.MeasureId, out var indicator))
            throw FhirException.Of(ErrorKind.Unprocessable, OperationOutcome.IssueType.NotSupported,
                $"Measure/{parameters.MeasureId} has no evaluation on this server; the group's indicators are {string.Join(", ", MeasureEvaluator.Indicators.Keys)}.", "measure");
        if (parameters.Reporter is { } reporter && !await evaluator.OrganizationExists(reporter, ct))
            throw FhirException.BadRequest($"reporter {reporter} does not exist.", "reporter");
        var (rows, subjects) = await evaluator.Run(indicator, parameters, ct);
        var report = MeasureReportBuilder.Build(indicator, measure.Url ?? EvaluateMeasureRequest.MeasureBase + measure.Id, parameters, rows, subjects);
        return new MeasureReportResult(report, subjects is null ? [] : MeasureReportBuilder.Subjects(report));
    }
}
