using Interop.Fhir.Model;
using Interop.Fhir.Errors;
using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Patch;
using Interop.Fhir.Storage;
using Interop.Fhir.Transactions;

namespace Interop.Server.Rest;

/// <summary>create, read, vread, update, delete (http://hl7.org/fhir/R4/http.html).</summary>
public static class CrudEndpoints
{
    public static async Task<IResult> Create(string type, HttpContext ctx, ResourceStore store, TransactionProcessor processor, CancellationToken ct)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var writer = FhirHttp.Writer(ctx);
        var resource = await FhirHttp.ReadResource(ctx);
        RequireBodyType(resource.TypeName, type);
        var ifNoneExist = ctx.Request.Headers["If-None-Exist"].ToString();
        if (!string.IsNullOrEmpty(ifNoneExist))
        {
            // Conditional create: 0 matches create, 1 returns the match (200), more than one is 412.
            var outcome = await TransactionEndpoints.Single(ctx, processor, EntryRequest.Rest(Bundle.HTTPVerb.POST, type, resource, ifNoneExist: ifNoneExist), ct);
            var existing = outcome.Status.StartsWith("200");
            return FhirResults.Version(outcome.Version!, existing ? 200 : 201, VersionUrl(ctx, outcome.Version!), honourPrefer: true);
        }
        var saved = await store.Create(resource, writer, ct);
        return FhirResults.Version(saved, 201, VersionUrl(ctx, saved), honourPrefer: true);
    }

    public static async Task<IResult> ConditionalUpdate(string type, HttpContext ctx, TransactionProcessor processor, CancellationToken ct)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var query = ctx.Request.QueryString.Value?.TrimStart('?');
        if (string.IsNullOrEmpty(query)) throw FhirException.NotSupported(405, $"PUT /{type} needs search criteria (conditional update) or an id: PUT /{type}/{{id}}.");
        var ifMatch = FhirHttp.IfMatch(ctx.Request);
        var resource = await FhirHttp.ReadResource(ctx);
        RequireBodyType(resource.TypeName, type);
        var outcome = await TransactionEndpoints.Single(ctx, processor, EntryRequest.Rest(Bundle.HTTPVerb.PUT, $"{type}?{query}", resource, ifMatch), ct);
        var created = outcome.Status.StartsWith("201");
        return FhirResults.Version(outcome.Version!, created ? 201 : 200, created ? VersionUrl(ctx, outcome.Version!) : null, honourPrefer: true);
    }

    public static async Task<IResult> ConditionalDelete(string type, HttpContext ctx, TransactionProcessor processor, CancellationToken ct)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var query = ctx.Request.QueryString.Value?.TrimStart('?');
        if (string.IsNullOrEmpty(query)) throw FhirException.NotSupported(405, $"DELETE /{type} needs search criteria (conditional delete) or an id: DELETE /{type}/{{id}}.");
        await TransactionEndpoints.Single(ctx, processor, EntryRequest.Rest(Bundle.HTTPVerb.DELETE, $"{type}?{query}", null), ct);
        return Results.NoContent();
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

    /// <summary>PATCH with JSON Patch (application/json-patch+json) or FHIRPath Patch (a Parameters body).</summary>
    public static async Task<IResult> Patch(string type, string id, HttpContext ctx, ResourceStore store, CancellationToken ct)
    {
        ResourceTypes.Require(type);
        FhirHttp.Output(ctx);
        var writer = FhirHttp.Writer(ctx);
        var ifMatch = FhirHttp.IfMatch(ctx.Request);
        var jsonPatch = ctx.Request.ContentType?.StartsWith(Patcher.JsonPatchMediaType, StringComparison.OrdinalIgnoreCase) == true;
        var format = jsonPatch ? FhirFormat.Json : FhirHttp.BodyFormat(ctx.Request);
        var body = await FhirHttp.ReadBody(ctx);
        for (var attempt = 0; ; attempt++)
        {
            var current = await store.ReadCurrent(type, id, ct) ?? throw FhirException.NotFound($"{type}/{id} does not exist.");
            if (current.Deleted) throw Deleted(current);
            if (ifMatch is { } expected && expected != current.VersionId)
                throw FhirException.PreconditionFailed($"If-Match: W/\"{expected}\" is not the current version of {type}/{id} (current is W/\"{current.VersionId}\").");
            var patched = jsonPatch ? Patcher.ApplyJsonPatch(current.Json!, body.Span) : ApplyFhirPathPatch(current.Json!, body.Span, format);
            Patcher.RequireSameIdentity(patched, type, id);
            try
            {
                // The patch was computed on this version: store it only on top of this version.
                var (saved, _) = await store.Update(patched, current.VersionId, writer, ct);
                return FhirResults.Version(saved, 200, honourPrefer: true);
            }
            catch (FhirException e) when (e.Status == 412 && ifMatch is null && attempt < ResourceStore.MaxRetries)
            {
                // Another writer got there first: patch the new current version, as a plain PUT would retry.
                await ResourceStore.Backoff(attempt, ct);
            }
        }
    }

    private static Resource ApplyFhirPathPatch(string json, ReadOnlySpan<byte> body, FhirFormat format) =>
        FhirSerialization.Parse(body, format) is Parameters parameters
            ? Patcher.ApplyFhirPathPatch(json, parameters)
            : throw FhirException.BadRequest("A FHIRPath Patch body is a Parameters resource; JSON Patch needs Content-Type application/json-patch+json.", "resourceType");

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
        // HTTP dates have whole seconds: modified means later than the second given (no AddSeconds on a year-9999 date).
        return DateTimeOffset.TryParse(request.Headers.IfModifiedSince.ToString(), out var since)
               && current.LastUpdated.AddSeconds(-1) < since;
    }

    public static string VersionUrl(HttpContext ctx, StoredVersion v) =>
        $"{FhirHttp.BaseUrl(ctx)}/{v.ResourceType}/{v.Id}/_history/{v.VersionId}";
}
