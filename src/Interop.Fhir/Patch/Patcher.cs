using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;

namespace Interop.Fhir.Patch;

/// <summary>
/// Applies a patch to a stored version and revalidates the result: the one path for PATCH over REST and inside
/// bundles. An invalid result is 422; a patch may not change the type or id.
/// </summary>
public static class Patcher
{
    public const string JsonPatchMediaType = "application/json-patch+json";

    public static Resource ApplyJsonPatch(string currentJson, ReadOnlySpan<byte> patch) =>
        Revalidate(System.Text.Encoding.UTF8.GetBytes(JsonPatch.Apply(currentJson, patch)));

    public static Resource ApplyFhirPathPatch(string currentJson, Parameters patch)
    {
        var resource = FhirSerialization.ParseStored(currentJson);
        FhirPathPatch.Apply(resource, patch);
        return Revalidate(System.Text.Encoding.UTF8.GetBytes(FhirSerialization.ToJson(resource)));
    }

    /// <summary>A bundle entry's patch: a Parameters resource (FHIRPath Patch) or a Binary holding a JSON Patch.</summary>
    public static Resource ApplyEntry(string currentJson, Resource? body) => body switch
    {
        Parameters parameters => ApplyFhirPathPatch(currentJson, parameters),
        Binary { ContentType: JsonPatchMediaType, Data: { } data } => ApplyJsonPatch(currentJson, data),
        _ => throw FhirException.BadRequest($"A PATCH entry's resource is a Parameters (FHIRPath Patch) or a Binary with contentType {JsonPatchMediaType} and the patch in data."),
    };

    public static void RequireSameIdentity(Resource patched, string type, string id)
    {
        if (patched.TypeName != type || patched.Id != id)
            throw FhirException.Of(ErrorKind.Unprocessable, OperationOutcome.IssueType.BusinessRule, "A patch may not change the resource type or id.", $"{type}.id");
    }

    private static Resource Revalidate(byte[] json)
    {
        try
        {
            return FhirSerialization.ParseJson(json);
        }
        catch (FhirException e) when (e.Kind == ErrorKind.Invalid)
        {
            foreach (var issue in e.Outcome.Issue) issue.Diagnostics = "The patched resource is invalid: " + issue.Diagnostics;
            throw new FhirException(ErrorKind.Unprocessable, e.Outcome);
        }
    }
}
