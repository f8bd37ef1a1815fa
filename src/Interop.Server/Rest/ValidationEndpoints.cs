using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Validation;

namespace Interop.Server.Rest;

/// <summary>$validate (type and instance level) and the local terminology service ($expand, $validate-code, $lookup).</summary>
public static class ValidationEndpoints
{
    /// <summary>
    /// POST [type]/$validate, POST|GET [type]/[id]/$validate. The resource comes as the body, or as the 'resource'
    /// parameter of a Parameters body; mode and profile as parameters or in the query. 200 with the OperationOutcome
    /// whatever it finds, a body that cannot be parsed included (its problems are the outcome).
    /// </summary>
    public static async Task<IResult> Validate(HttpContext ctx, string type, string? id = null)
    {
        FhirHttp.Output(ctx);
        string? mode = ctx.Request.Query["mode"], profile = ctx.Request.Query["profile"];
        Resource? resource = null;
        if (HasBody(ctx.Request))
        {
            Resource body;
            try
            {
                body = await FhirHttp.ReadResource(ctx);
            }
            catch (FhirException e) when (e.Kind is ErrorKind.Invalid or ErrorKind.Unprocessable)
            {
                // Its problems are the answer, through the pipeline: a caller without a token gets 401, not a parser.
                return FhirResults.Resource((await ctx.Send<ResourceResult>(new ValidateRequest(type, id, null, mode, profile, e.Outcome))).Body);
            }
            if (body is Parameters parameters && type != "Parameters")
            {
                resource = parameters.Parameter.FirstOrDefault(p => p.Name == "resource")?.Resource;
                mode = Primitive(parameters, "mode") ?? mode;
                profile = Primitive(parameters, "profile") ?? profile;
            }
            else resource = body;
        }
        var outcome = await ctx.Send<ResourceResult>(new ValidateRequest(type, id, resource, mode, profile));
        return FhirResults.Resource(outcome.Body);
    }

    /// <summary>GET|POST ValueSet/$expand, ValueSet/[id]/$expand, …: the parameters from the query or a Parameters body.</summary>
    public static async Task<IResult> Terminology(HttpContext ctx, string type, string operation, string? id = null)
    {
        FhirHttp.Output(ctx);
        var input = new Parameters();
        foreach (var (name, values) in ctx.Request.Query)
            foreach (var value in values)
                if (value is not null) input.Add(name, Typed(name, value));
        if (HasBody(ctx.Request))
        {
            if (await FhirHttp.ReadResource(ctx) is not Parameters body)
                throw FhirException.BadRequest($"${operation} invoked with POST takes a Parameters resource.", "resourceType");
            input.Parameter.AddRange(body.Parameter);
        }
        var result = await ctx.Send<ResourceResult>(new TerminologyRequest(type, id, operation, input));
        return FhirResults.Resource(result.Body);
    }

    // A POST with a body (HttpClient sends none, not an empty one, for a POST without content).
    private static bool HasBody(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && (request.ContentLength > 0 || request.ContentLength is null && request.ContentType is not null);

    private static string? Primitive(Parameters parameters, string name) =>
        (parameters.Parameter.FirstOrDefault(p => p.Name == name)?.Value as PrimitiveType)?.ToString();

    // Query parameters as the operations define their types.
    private static DataType Typed(string name, string value) => name switch
    {
        "url" or "system" or "valueSet" or "context" => new FhirUri(value),
        "code" => new Code(value),
        "count" or "offset" => int.TryParse(value, out var n) ? new Integer(n) : throw FhirException.BadRequest($"{name} must be a whole number, not '{value}'.", name),
        "activeOnly" or "includeDesignations" or "abstract" => bool.TryParse(value, out var b) ? new FhirBoolean(b) : throw FhirException.BadRequest($"{name} must be true or false, not '{value}'.", name),
        _ => new FhirString(value),
    };
}
