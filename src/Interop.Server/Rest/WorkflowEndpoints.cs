using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Workflows;

namespace Interop.Server.Rest;

/// <summary>The group's workflow operations: $renew of a family-doctor contract.</summary>
public static class WorkflowEndpoints
{
    /// <summary>
    /// POST EpisodeOfCare/{id}/$renew, optionally with a Parameters body: careManager (Reference, another GP of the
    /// station), team (Reference, repeating). 201 with the new contract and its Location.
    /// </summary>
    public static async Task<IResult> Renew(HttpContext ctx, string id)
    {
        FhirHttp.Output(ctx);
        ResourceReference? manager = null;
        List<ResourceReference>? team = null;
        if (ctx.Request.ContentLength > 0 || ctx.Request.Headers.TransferEncoding.Count > 0)
        {
            if (await FhirHttp.ReadResource(ctx) is not Parameters parameters)
                throw FhirException.BadRequest("$renew takes a Parameters resource (careManager, team) or no body.", "resourceType");
            foreach (var p in parameters.Parameter)
            {
                if (p.Name is not ("careManager" or "team"))
                    throw FhirException.BadRequest($"$renew has no parameter '{p.Name}' (careManager, team).", "Parameters.parameter");
                if (p.Value is not ResourceReference { Reference: { } reference } r)
                    throw FhirException.BadRequest($"$renew's {p.Name} is a Reference (valueReference).", $"Parameters.parameter[{p.Name}]");
                if (p.Name == "careManager")
                    manager = reference.StartsWith("Practitioner/", StringComparison.Ordinal) || reference.StartsWith("PractitionerRole/", StringComparison.Ordinal)
                        ? r : throw FhirException.BadRequest($"careManager must be a Practitioner or PractitionerRole, not '{reference}'.", "Parameters.parameter[careManager]");
                else (team ??= []).Add(reference.StartsWith("CareTeam/", StringComparison.Ordinal) ? r : throw FhirException.BadRequest($"team must be a CareTeam, not '{reference}'.", "Parameters.parameter[team]"));
            }
        }
        var result = await ctx.Send<VersionResult>(new RenewRequest(id, manager, team, FhirHttp.IfMatch(ctx.Request)));
        return CrudEndpoints.Written(ctx, result);
    }
}
