using Interop.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Storage;

namespace Interop.Server.Rest;

/// <summary>create, read, vread, update, delete (http://hl7.org/fhir/R4/http.html).</summary>
public static class CrudEndpoints
{
    public static async Task<IResult> Create(string type, HttpContext ctx, ResourceStore store, CancellationToken ct)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var writer = FhirHttp.Writer(ctx);
        var resource = await FhirHttp.ReadResource(ctx);
        RequireBodyType(resource.TypeName, type);
        var saved = await store.Create(resource, writer, ct);
        return FhirResults.Version(saved, 201, VersionUrl(ctx, saved), honourPrefer: true);
    }

    public static async Task<IResult> Read(string type, string id, HttpContext ctx, ResourceStore store, CancellationToken ct)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var current = await store.ReadCurrent(type, id, ct);
        if (current is null) throw FhirException.NotFound($"{type}/{id} does not exist.");
        if (current.Deleted) throw Deleted(current);
        if (NotModified(ctx.Request, current))
        {
            FhirResults.SetVersionHeaders(ctx.Response, current);
            return Results.StatusCode(304);
        }
        return FhirResults.Version(current);
    }

    public static async Task<IResult> VRead(string type, string id, string vid, HttpContext ctx, ResourceStore store, CancellationToken ct)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        if (!int.TryParse(vid, out var version) || version < 1)
            throw FhirException.NotFound($"'{vid}' is not a version of {type}/{id}: versions are positive integers.");
        var found = await store.ReadVersion(type, id, version, ct);
        if (found is null) throw FhirException.NotFound($"{type}/{id} has no version {vid}.");
        if (found.Deleted) throw Deleted(found);
        return FhirResults.Version(found);
    }

    public static async Task<IResult> Update(string type, string id, HttpContext ctx, ResourceStore store, CancellationToken ct)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var writer = FhirHttp.Writer(ctx);
        var ifMatch = FhirHttp.IfMatch(ctx.Request);
        var resource = await FhirHttp.ReadResource(ctx);
        RequireBodyType(resource.TypeName, type);
        if (string.IsNullOrEmpty(resource.Id))
            throw FhirException.BadRequest($"The resource in the body has no id; an update needs id '{id}' in the body.", $"{type}.id");
        if (resource.Id != id)
            throw FhirException.BadRequest($"The id in the body ('{resource.Id}') does not match the id in the URL ('{id}').", $"{type}.id");
        var (saved, created) = await store.Update(resource, ifMatch, writer, ct);
        return FhirResults.Version(saved, created ? 201 : 200, created ? VersionUrl(ctx, saved) : null, honourPrefer: true);
    }

    public static async Task<IResult> Delete(string type, string id, HttpContext ctx, ResourceStore store, CancellationToken ct)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var tombstone = await store.Delete(type, id, FhirHttp.IfMatch(ctx.Request), FhirHttp.Writer(ctx), ct);
        if (tombstone is not null) ctx.Response.Headers.ETag = tombstone.ETag;
        return Results.NoContent();
    }

    private static void RequireBodyType(string bodyType, string urlType)
    {
        if (bodyType != urlType)
            throw FhirException.BadRequest($"The body is a {bodyType} but the URL is for {urlType}.", "resourceType");
    }

    private static FhirException Deleted(StoredVersion version)
    {
        var e = FhirException.Gone($"{version.Key} was deleted (version {version.VersionId}, {version.LastUpdated:O}).");
        return e;
    }

    private static bool NotModified(HttpRequest request, StoredVersion current)
    {
        var noneMatch = request.Headers.IfNoneMatch.ToString();
        if (!string.IsNullOrEmpty(noneMatch))
            return noneMatch.Split(',').Any(t => t.Trim() == current.ETag || t.Trim() == $"\"{current.VersionId}\"" || t.Trim() == "*");
        return DateTimeOffset.TryParse(request.Headers.IfModifiedSince.ToString(), out var since)
               && current.LastUpdated < since.AddSeconds(1);
    }

    public static string VersionUrl(HttpContext ctx, StoredVersion v) =>
        $"{FhirHttp.BaseUrl(ctx)}/{v.ResourceType}/{v.Id}/_history/{v.VersionId}";
}
