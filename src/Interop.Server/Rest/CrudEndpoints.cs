using Interop.Fhir.Model;
using Interop.Fhir.Errors;
using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Patch;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Storage;

namespace Interop.Server.Rest;

/// <summary>create, read, vread, update, delete (http://hl7.org/fhir/R4/http.html).</summary>
public static class CrudEndpoints
{
    public static async Task<IResult> Create(string type, HttpContext ctx)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var resource = await FhirHttp.ReadResource(ctx);
        RequireBodyType(resource.TypeName, type);
        var ifNoneExist = ctx.Request.Headers["If-None-Exist"].ToString();
        var result = await ctx.Send<VersionResult>(new CreateRequest(resource, string.IsNullOrEmpty(ifNoneExist) ? null : ifNoneExist));
        return Written(ctx, result);
    }

    public static async Task<IResult> ConditionalUpdate(string type, HttpContext ctx)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var query = Criteria(ctx, type, "PUT", "update");
        var ifMatch = FhirHttp.IfMatch(ctx.Request);
        var resource = await FhirHttp.ReadResource(ctx);
        RequireBodyType(resource.TypeName, type);
        return Written(ctx, await ctx.Send<VersionResult>(new ConditionalUpdateRequest(type, query, resource, ifMatch)));
    }

    public static async Task<IResult> ConditionalDelete(string type, HttpContext ctx)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var query = Criteria(ctx, type, "DELETE", "delete");
        return Deleted(ctx, await ctx.Send<DeleteResult>(new ConditionalDeleteRequest(type, query)));
    }

    public static async Task<IResult> Read(string type, string id, HttpContext ctx)
    {
        ResourceTypes.Require(type);
        if (type == "AuditEvent") return await AuditEndpoints.Read(id, ctx);
        FhirHttp.Output(ctx);
        var current = (await ctx.Send<VersionResult>(new ReadRequest(type, id))).Version;
        if (NotModified(ctx.Request, current))
        {
            FhirResults.SetVersionHeaders(ctx.Response, current);
            return Results.StatusCode(304);
        }
        return FhirResults.Version(current);
    }

    public static async Task<IResult> VRead(string type, string id, string vid, HttpContext ctx)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        if (!int.TryParse(vid, out var version) || version < 1)
            throw FhirException.NotFound($"'{vid}' is not a version of {type}/{id}: versions are positive integers.");
        return FhirResults.Version((await ctx.Send<VersionResult>(new ReadRequest(type, id, version))).Version);
    }

    public static async Task<IResult> Update(string type, string id, HttpContext ctx)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var ifMatch = FhirHttp.IfMatch(ctx.Request);
        var resource = await FhirHttp.ReadResource(ctx);
        RequireBodyType(resource.TypeName, type);
        return Written(ctx, await ctx.Send<VersionResult>(new UpdateRequest(resource, id, ifMatch)));
    }

    public static async Task<IResult> Delete(string type, string id, HttpContext ctx)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        return Deleted(ctx, await ctx.Send<DeleteResult>(new DeleteRequest(type, id, FhirHttp.IfMatch(ctx.Request))));
    }

    /// <summary>PATCH with JSON Patch (application/json-patch+json) or FHIRPath Patch (a Parameters body).</summary>
    public static async Task<IResult> Patch(string type, string id, HttpContext ctx)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var ifMatch = FhirHttp.IfMatch(ctx.Request);
        return Written(ctx, await ctx.Send<VersionResult>(new PatchRequest(type, id, await ReadPatch(ctx), ifMatch)));
    }

    /// <summary>The search criteria of a conditional PUT, PATCH or DELETE on the type (required: without them the call names no resource).</summary>
    private static string Criteria(HttpContext ctx, string type, string verb, string kind)
    {
        var query = ctx.Request.QueryString.Value?.TrimStart('?');
        if (string.IsNullOrEmpty(query))
            throw FhirException.NotSupported(ErrorKind.NotSupported, $"{verb} /{type} needs search criteria (conditional {kind}) or an id: {verb} /{type}/{{id}}.");
        return query;
    }

    /// <summary>PATCH /Type?criteria: the one match is patched (none: 404, several: 412).</summary>
    public static async Task<IResult> ConditionalPatch(string type, HttpContext ctx)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var query = Criteria(ctx, type, "PATCH", "patch");
        var ifMatch = FhirHttp.IfMatch(ctx.Request);
        return Written(ctx, await ctx.Send<VersionResult>(new ConditionalPatchRequest(type, query, await ReadPatch(ctx), ifMatch)));
    }

    // A JSON Patch travels as a Binary (as in a bundle entry), a FHIRPath Patch as its Parameters.
    private static async Task<Resource> ReadPatch(HttpContext ctx)
    {
        var jsonPatch = ctx.Request.ContentType?.StartsWith(Patcher.JsonPatchMediaType, StringComparison.OrdinalIgnoreCase) == true;
        var body = await FhirHttp.ReadBody(ctx);
        return jsonPatch
            ? new Binary { ContentType = Patcher.JsonPatchMediaType, Data = body.ToArray() }
            : FhirSerialization.Parse(body.Span, FhirHttp.BodyFormat(ctx.Request)) as Parameters
              ?? throw FhirException.BadRequest("A FHIRPath Patch body is a Parameters resource; JSON Patch needs Content-Type application/json-patch+json.", "resourceType");
    }

    /// <summary>201 with Location for a new resource, 200 otherwise; the body as Prefer asks.</summary>
    internal static IResult Written(HttpContext ctx, VersionResult result)
    {
        var created = result.Kind == ResultKind.Created;
        return FhirResults.Version(result.Version, HttpStatus.Of(result.Kind), created ? VersionUrl(ctx, result.Version) : null, honourPrefer: true);
    }

    private static IResult Deleted(HttpContext ctx, DeleteResult result)
    {
        if (result.Tombstone is { } tombstone) ctx.Response.Headers.ETag = tombstone.ETag;
        return Results.StatusCode(HttpStatus.Of(result.Kind));
    }

    private static void RequireBodyType(string bodyType, string urlType)
    {
        if (bodyType != urlType)
            throw FhirException.BadRequest($"The body is a {bodyType} but the URL is for {urlType}.", "resourceType");
    }

    private static bool NotModified(HttpRequest request, StoredVersion current)
    {
        var noneMatch = request.Headers.IfNoneMatch.ToString();
        if (!string.IsNullOrEmpty(noneMatch))
            return noneMatch.Split(',').Any(t => t.Trim() == current.ETag || t.Trim() == $"\"{current.VersionId}\"" || t.Trim() == "*");
        // HTTP dates have whole seconds: modified means later than the second given (no AddSeconds on a year-9999 date).
        return DateTimeOffset.TryParse(request.Headers.IfModifiedSince.ToString(), out var since)
               && current.LastUpdated.AddSeconds(-1) < since;
    }

    public static string VersionUrl(HttpContext ctx, StoredVersion v) =>
        $"{FhirHttp.BaseUrl(ctx)}/{v.ResourceType}/{v.Id}/_history/{v.VersionId}";
}
