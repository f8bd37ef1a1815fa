namespace Interop.Server.Rest;

/// <summary>A generic resource in the OpenAPI document: every FHIR type has resourceType and id.</summary>
public sealed class FhirResource
{
    /// <summary>The FHIR resource type, e.g. Patient.</summary>
    public string ResourceType { get; set; } = "";
    public string? Id { get; set; }
}

public static class FhirApi
{

    public static void MapFhirApi(this IEndpointRouteBuilder app)
    {
        var fhir = app.MapGroup("/fhir");

        fhir.MapGet("/metadata", CapabilityEndpoint.Get).WithName("capabilities").WithTags("System")
            .WithSummary("CapabilityStatement: what this server implements").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType);
        fhir.MapGet("", SearchEndpoints.System).WithName("search-system").WithTags("System")
            .WithSummary("Search across types (_type)").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPost("/_search", SearchEndpoints.System).WithName("search-system-post").WithTags("System").WithSummary("Search across types, parameters in a form body")
            .Accepts<FhirResource>("application/x-www-form-urlencoded").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPost("", TransactionEndpoints.Process).WithName("transaction").WithTags("System").WithSummary("Transaction or batch Bundle")
            .Accepts<FhirResource>(FhirHttp.JsonType, FhirHttp.BodyTypes).Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapGet("/$changes", ChangeEndpoints.Read).WithName("operation-changes").WithTags("System")
            .WithSummary("The change feed from a position (after, _count), oldest first").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapGet("/$subscription-websocket", (Func<HttpContext, Task<IResult>>)SubscriptionSocketEndpoint.Connect).WithName("subscription-websocket").WithTags("System")
            .WithSummary("R4 websocket channel of Subscriptions: send bind <id>, receive bound <id> and ping <id>").ProducesFhirErrors();
        fhir.MapGet("/_history", HistoryEndpoints.System).WithName("history-system").WithTags("System")
            .WithSummary("History of all resources (_count, _since)").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType);

        fhir.MapGet("/AuditEvent/$verify", (Func<HttpContext, Task<IResult>>)AuditEndpoints.Verify).WithName("operation-audit-verify").WithTags("AuditEvent")
            .WithSummary("Verify the access log's hash chains (start, end: days)").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapGet("/AuditEvent/$access-report", (Func<HttpContext, Task<IResult>>)AuditEndpoints.AccessReport).WithName("operation-access-report").WithTags("AuditEvent")
            .WithSummary("Who accessed a resident's record, when (patient, start, end; _format=text/csv)").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType, "text/csv").ProducesFhirErrors();
        fhir.MapGet("/AuditEvent/$export", (Func<HttpContext, Task<IResult>>)AuditEndpoints.Export).WithName("operation-audit-export").WithTags("AuditEvent")
            .WithSummary("The access log of a period as NDJSON (start, end)").Produces(200, null, "application/fhir+ndjson").ProducesFhirErrors();

        fhir.MapPost("/{type}", CrudEndpoints.Create).WithName("create").WithTags("Type").WithSummary("Create a resource")
            .Accepts<FhirResource>(FhirHttp.JsonType, FhirHttp.BodyTypes).Produces<FhirResource>(201, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapGet("/{type}", SearchEndpoints.Type).WithName("search-type").WithTags("Type").WithSummary("Search")
            .Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPut("/{type}", CrudEndpoints.ConditionalUpdate).WithName("update-conditional").WithTags("Type").WithSummary("Conditional update: PUT /Type?criteria")
            .Accepts<FhirResource>(FhirHttp.JsonType, FhirHttp.BodyTypes).Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPatch("/{type}", CrudEndpoints.ConditionalPatch).WithName("patch-conditional").WithTags("Type").WithSummary("Conditional patch: PATCH /Type?criteria")
            .Accepts<FhirResource>("application/json-patch+json", [FhirHttp.JsonType, .. FhirHttp.BodyTypes]).Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapDelete("/{type}", CrudEndpoints.ConditionalDelete).WithName("delete-conditional").WithTags("Type").WithSummary("Conditional delete: DELETE /Type?criteria")
            .Produces(204).ProducesFhirErrors();
        fhir.MapPost("/{type}/_search", SearchEndpoints.Type).WithName("search-type-post").WithTags("Type").WithSummary("Search, parameters in a form body")
            .Accepts<FhirResource>("application/x-www-form-urlencoded").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapGet("/{compartment}/{id}/{type}", SearchEndpoints.Compartment).WithName("search-compartment").WithTags("Instance")
            .WithSummary("Search in a Patient compartment, e.g. /Patient/123/Observation").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPost("/Patient/$match", (Func<HttpContext, Task<IResult>>)PatientOperations.Match).WithName("operation-match").WithTags("Patient").WithSummary("Find registrations of the same person (Parameters with resource)")
            .Accepts<FhirResource>(FhirHttp.JsonType, FhirHttp.BodyTypes).Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPost("/Patient/$merge", (Func<HttpContext, Task<IResult>>)PatientOperations.Merge).WithName("operation-merge").WithTags("Patient").WithSummary("Merge a duplicate by linking (source replaced-by target)")
            .Accepts<FhirResource>(FhirHttp.JsonType, FhirHttp.BodyTypes).Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapMethods("/Patient/{id}/$everything", ["GET", "POST"], PatientOperations.Everything).WithName("operation-everything").WithTags("Patient")
            .WithSummary("Everything about the patient and the patients linked to it (_since, _type, _count)").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPost("/EpisodeOfCare/{id}/$renew", WorkflowEndpoints.Renew).WithName("operation-renew").WithTags("EpisodeOfCare")
            .WithSummary("Renew a family-doctor contract for a year from today, optionally with another GP (Parameters careManager, team)")
            .Accepts<FhirResource>(FhirHttp.JsonType, FhirHttp.BodyTypes).Produces<FhirResource>(201, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPost("/Patient/{id}/$enrol", CareEndpoints.Enrol).WithName("operation-enrol").WithTags("Patient")
            .WithSummary("Enrol a contracted resident in case management of a chronic condition (Parameters condition, specialist, team)")
            .Accepts<FhirResource>(FhirHttp.JsonType, FhirHttp.BodyTypes).Produces<FhirResource>(201, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPost("/Patient/{id}/$stratify", CareEndpoints.StratifyOne).WithName("operation-stratify-patient").WithTags("Patient")
            .WithSummary("Stratify one resident's risk: a new RiskAssessment").Produces<FhirResource>(201, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPost("/$stratify", (Func<HttpContext, Task<IResult>>)CareEndpoints.StratifyGroup).WithName("operation-stratify").WithTags("System")
            .WithSummary("Stratify every resident (or a station's: organization) in pages; counts per level").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapMethods("/PlanDefinition/{id}/$apply", ["GET", "POST"], CareEndpoints.Apply).WithName("operation-apply").WithTags("PlanDefinition")
            .WithSummary("A draft individual care plan from a template for a resident (subject); not stored").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapMethods("/Measure/$evaluate-measure", ["GET", "POST"], (Func<HttpContext, Task<IResult>>)(ctx => MeasureEndpoints.Evaluate(ctx))).WithName("operation-evaluate-measure").WithTags("Measure")
            .WithSummary("One of the group's indicators over a period (measure, periodStart, periodEnd, reporter): a summary MeasureReport").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapMethods("/Measure/{id}/$evaluate-measure", ["GET", "POST"], (HttpContext ctx, string id) => MeasureEndpoints.Evaluate(ctx, id)).WithName("operation-evaluate-measure-instance").WithTags("Measure")
            .WithSummary("The indicator of this Measure over a period (periodStart, periodEnd, reporter): a summary MeasureReport").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPost("/{type}/$validate", (HttpContext ctx, string type) => ValidationEndpoints.Validate(ctx, type)).WithName("operation-validate").WithTags("Validation")
            .WithSummary("Validate a resource (body, or Parameters with resource, mode, profile); nothing is stored").Accepts<FhirResource>(FhirHttp.JsonType, FhirHttp.BodyTypes)
            .Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapMethods("/{type}/{id}/$validate", ["GET", "POST"], (HttpContext ctx, string type, string id) => ValidationEndpoints.Validate(ctx, type, id)).WithName("operation-validate-instance")
            .WithTags("Validation").WithSummary("Validate the stored resource, or the body as its update (mode update, delete)").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        foreach (var (type, operation) in new[] { ("ValueSet", "expand"), ("ValueSet", "validate-code"), ("CodeSystem", "lookup"), ("CodeSystem", "validate-code") })
        {
            fhir.MapMethods($"/{type}/${operation}", ["GET", "POST"], (Func<HttpContext, Task<IResult>>)(ctx => ValidationEndpoints.Terminology(ctx, type, operation)))
                .WithName($"operation-{type.ToLowerInvariant()}-{operation}").WithTags("Terminology").WithSummary($"{type} ${operation} over the specification's and the group's terminology")
                .Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
            fhir.MapMethods($"/{type}/{{id}}/${operation}", ["GET", "POST"], (HttpContext ctx, string id) => ValidationEndpoints.Terminology(ctx, type, operation, id))
                .WithName($"operation-{type.ToLowerInvariant()}-{operation}-instance").WithTags("Terminology")
                .Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        }
        fhir.MapGet("/{type}/_history", HistoryEndpoints.Type).WithName("history-type").WithTags("Type")
            .WithSummary("History of all resources of a type").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();

        fhir.MapGet("/{type}/{id}", CrudEndpoints.Read).WithName("read").WithTags("Instance").WithSummary("Read the current version")
            .Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPut("/{type}/{id}", CrudEndpoints.Update).WithName("update").WithTags("Instance").WithSummary("Update, or create with this id")
            .Accepts<FhirResource>(FhirHttp.JsonType, FhirHttp.BodyTypes).Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).Produces<FhirResource>(201, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapPatch("/{type}/{id}", CrudEndpoints.Patch).WithName("patch").WithTags("Instance").WithSummary("Patch: JSON Patch or FHIRPath Patch (Parameters)")
            .Accepts<FhirResource>("application/json-patch+json", [FhirHttp.JsonType, .. FhirHttp.BodyTypes]).Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapDelete("/{type}/{id}", CrudEndpoints.Delete).WithName("delete").WithTags("Instance").WithSummary("Delete (a tombstone version)")
            .Produces(204).ProducesFhirErrors();
        fhir.MapGet("/{type}/{id}/_history", HistoryEndpoints.Instance).WithName("history-instance").WithTags("Instance")
            .WithSummary("All versions of one resource").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
        fhir.MapGet("/{type}/{id}/_history/{vid}", CrudEndpoints.VRead).WithName("vread").WithTags("Instance")
            .WithSummary("Read one version").Produces<FhirResource>(200, FhirHttp.JsonType, FhirHttp.XmlType).ProducesFhirErrors();
    }

    private static RouteHandlerBuilder ProducesFhirErrors(this RouteHandlerBuilder builder)
    {
        foreach (var status in new[] { 400, 404, 406, 409, 410, 412, 413, 415, 422 })
            builder.Produces<FhirResource>(status, FhirHttp.JsonType, FhirHttp.XmlType);
        return builder;
    }
}
