using Hl7.Fhir.Model;
using Interop.Fhir.Errors;

namespace Interop.Fhir.Model;

/// <summary>The concrete R4 resource types this server stores (all of them).</summary>
public static class ResourceTypes
{
    public static readonly IReadOnlySet<string> All = ModelInfo.SupportedResources
        .Where(name => ModelInfo.GetTypeForFhirType(name) is { IsAbstract: false } t && typeof(Resource).IsAssignableFrom(t))
        .ToHashSet(StringComparer.Ordinal);

    public static void Require(string type)
    {
        if (!All.Contains(type))
            throw FhirException.NotFound($"'{type}' is not a FHIR R4 resource type supported by this server.");
    }
}
