using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Workflows.Care;

namespace Interop.Server.Rest;

/// <summary>Chronic case management: Patient/{id}/$enrol, $stratify (one resident or the group) and PlanDefinition/{id}/$apply.</summary>
public static class CareEndpoints
{
    /// <summary>POST Patient/{id}/$enrol with Parameters condition (required), specialist, team (References). 201 with the episode.</summary>
    public static async Task<IResult> Enrol(HttpContext ctx, string id)
    {
        FhirHttp.Output(ctx);
        var p = await Body(ctx, "$enrol", ["condition", "specialist", "team"]);
        var condition = Reference(p, "condition", "Condition/") ?? throw FhirException.BadRequest("$enrol needs the parameter condition (valueReference Condition/{id}).", "Parameters.parameter[condition]");
        var specialist = Reference(p, "specialist", "Practitioner/", "PractitionerRole/");
        var team = Reference(p, "team", "CareTeam/");
        return CrudEndpoints.Written(ctx, await ctx.Send<VersionResult>(new EnrolRequest(id, condition, specialist, team)));
    }

    /// <summary>POST Patient/{id}/$stratify: 201 with the RiskAssessment.</summary>
    public static async Task<IResult> StratifyOne(HttpContext ctx, string id)
    {
        FhirHttp.Output(ctx);
        await Body(ctx, "$stratify", []);
        return CrudEndpoints.Written(ctx, await ctx.Send<VersionResult>(new StratifyRequest(id, null)));
    }

    /// <summary>POST /$stratify, optionally organization=Organization/{id} (query or Parameters): 200 with the counts.</summary>
    public static async Task<IResult> StratifyGroup(HttpContext ctx)
    {
        FhirHttp.Output(ctx);
        var p = await Body(ctx, "$stratify", ["organization"]);
        var organization = Reference(p, "organization", "Organization/")?.Reference;
        if (ctx.Request.Query["organization"].FirstOrDefault() is { } query)
            organization = query.StartsWith("Organization/", StringComparison.Ordinal) && query.Length > 13
                ? query : throw FhirException.BadRequest($"organization must be Organization/{{id}}, not '{query}'.", "organization");
        return FhirResults.Resource((await ctx.Send<CareAnswer>(new StratifyRequest(null, organization))).Body);
    }

    /// <summary>GET|POST PlanDefinition/{id}/$apply?subject=Patient/{id} (or Parameters subject): 200 with the draft CarePlan.</summary>
    public static async Task<IResult> Apply(HttpContext ctx, string id)
    {
        FhirHttp.Output(ctx);
        var p = HttpMethods.IsPost(ctx.Request.Method) ? await Body(ctx, "$apply", ["subject", "encounter", "practitioner", "organization"]) : [];
        var subjects = ctx.Request.Query["subject"].OfType<string>()
            .Concat(p.Where(x => x.Name == "subject").Select(x => x.Value switch { ResourceReference r => r.Reference, PrimitiveType s => s.ToString(), _ => null }).OfType<string>())
            .ToList();
        if (subjects is not [var subject])
            throw FhirException.BadRequest($"$apply needs exactly one subject (Patient/{{id}}); it has {subjects.Count}.", "subject");
        if (!subject.StartsWith("Patient/", StringComparison.Ordinal) || subject.Length <= 8 || subject.IndexOf('/', 8) >= 0)
            throw FhirException.BadRequest($"subject must be Patient/{{id}}, not '{subject}'.", "subject");
        return FhirResults.Resource((await ctx.Send<CareAnswer>(new ApplyRequest(id, subject[8..]))).Body);
    }

    // The Parameters of a POST (no body: none); a parameter the operation does not know is a 400.
    private static async Task<List<Parameters.ParameterComponent>> Body(HttpContext ctx, string operation, string[] known)
    {
        if (!(ctx.Request.ContentLength > 0 || ctx.Request.Headers.TransferEncoding.Count > 0)) return [];
        if (await FhirHttp.ReadResource(ctx) is not Parameters parameters)
            throw FhirException.BadRequest($"{operation} takes a Parameters resource ({string.Join(", ", known)}) or no body.", "resourceType");
        if (parameters.Parameter.FirstOrDefault(x => !known.Contains(x.Name)) is { } unknown)
            throw FhirException.BadRequest($"{operation} has no parameter '{unknown.Name}' ({(known.Length == 0 ? "none" : string.Join(", ", known))}).", "Parameters.parameter");
        return parameters.Parameter;
    }

    // A Reference parameter whose target is one of the types given; 400 naming the parameter otherwise.
    private static ResourceReference? Reference(List<Parameters.ParameterComponent> p, string name, params string[] prefixes)
    {
        if (p.FirstOrDefault(x => x.Name == name) is not { } found) return null;
        if (found.Value is ResourceReference { Reference: { } value } r && prefixes.Any(x => value.StartsWith(x, StringComparison.Ordinal) && value.Length > x.Length))
            return r;
        throw FhirException.BadRequest($"{name} is a valueReference to {string.Join(" or ", prefixes.Select(x => x + "{id}"))}.", $"Parameters.parameter[{name}]");
    }
}
