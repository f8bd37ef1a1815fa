using Hl7.Fhir.Model;
using Interop.Fhir.Errors;

namespace Interop.Fhir.Model;

/// <summary>
/// The R4 resource types this server stores: every concrete one except Parameters, which R4 defines only as the
/// body of operations ("no RESTful endpoint").
/// </summary>
public static class ResourceTypes
{
    public static readonly IReadOnlySet<string> All = ModelInfo.SupportedResources
        .Where(name => name != "Parameters" && ModelInfo.GetTypeForFhirType(name) is { IsAbstract: false } t && typeof(Resource).IsAssignableFrom(t))
        .ToHashSet(StringComparer.Ordinal);

    public static void Require(string type)
    {
        if (type == "Parameters")
            throw FhirException.NotFound("Parameters is the body of operations; R4 gives it no RESTful endpoint.");
        if (!All.Contains(type))
            throw FhirException.NotFound($"'{type}' is not a FHIR R4 resource type supported by this server.");
    }
}
