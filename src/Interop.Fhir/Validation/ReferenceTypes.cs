using System.Collections.Concurrent;
using System.Reflection;
using Hl7.Fhir.Introspection;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using static Hl7.Fhir.Model.OperationOutcome;

namespace Interop.Fhir.Validation;

/// <summary>
/// The R4 target types of references (Reference(Patient | Group)): Firely's validator checks them only for targets
/// it resolves, so the type a literal reference names ("Practitioner/12", an absolute URL, a contained "#id") is
/// checked here against the element's allowed types. urn:uuid references inside a bundle are left to the bundle.
/// </summary>
public static class ReferenceTypes
{
    private static readonly ConcurrentDictionary<(Type, string), string[]?> Allowed = new();

    public static void Check(Resource resource, OperationOutcome outcome)
    {
        var contained = Contained(resource);
        Walk(resource, resource.TypeName, contained, outcome, 0);
    }

    private static void Walk(Base node, string path, Dictionary<string, string> contained, OperationOutcome outcome, int depth)
    {
        if (depth > 64) return;
        var counts = new Dictionary<string, int>();
        foreach (var (name, value) in Named(node))
        {
            var index = counts[name] = counts.GetValueOrDefault(name, -1) + 1; // list items repeat their element's name
            var at = $"{path}.{name}[{index}]";
            if (value is Resource) continue; // contained resources are checked as their own (bundle entries are their own writes)
            if (value is ResourceReference reference && Targets(node.GetType(), name) is { } targets && Named(reference.Reference, contained) is { } named
                && !targets.Contains(named) && !targets.Contains("Resource"))
                outcome.Issue.Add(Outcomes.Issue(IssueSeverity.Error, IssueType.Invalid,
                    $"The reference {reference.Reference} points to a {named}, but {node.TypeName}.{name} may refer only to {string.Join(" or ", targets)}.", $"{at}.reference"));
            Walk(value, at, contained, outcome, depth + 1);
        }
    }

    private static IEnumerable<(string Name, Base Value)> Named(Base node)
    {
        foreach (var (name, value) in node.EnumerateElements())
            if (value is Base single) yield return (name, single);
            else if (value is System.Collections.IEnumerable list)
                foreach (var item in list.OfType<Base>()) yield return (name, item);
    }

    private static string[]? Targets(Type parent, string name) => Allowed.GetOrAdd((parent, name), key =>
    {
        var mapping = ModelInfo.ModelInspector.FindOrImportClassMapping(key.Item1);
        var property = mapping?.FindMappedElementByName(key.Item2)?.NativeProperty;
        return property?.GetCustomAttribute<ReferencesAttribute>()?.Resources;
    });

    /// <summary>
    /// A profile's narrower targets (Referral.subject: Patient only, where R4 also allows Group): for each element of
    /// the profile's snapshot that is a Reference with target profiles, the references the instance has there must name
    /// one of those profiles' types. Elements under choices or slices are left to Firely.
    /// </summary>
    public static void Check(Resource resource, StructureDefinition profile, IReadOnlyDictionary<string, StructureDefinition> profiles, OperationOutcome outcome)
    {
        var contained = Contained(resource);
        foreach (var element in profile.Snapshot?.Element ?? [])
        {
            if (element.Path is not { } path || path.Contains("[x]") || element.ElementId?.Contains(':') == true) continue;
            var targets = element.Type.Where(t => t.Code == "Reference").SelectMany(t => t.TargetProfile).OfType<string>()
                .Select(url => profiles.TryGetValue(url, out var p) ? p.Type : url.StartsWith(CoreSpec.CorePrefix, StringComparison.Ordinal) ? url[CoreSpec.CorePrefix.Length..] : null)
                .ToList();
            if (targets.Count == 0 || targets.Contains(null) || targets.Contains("Resource")) continue;
            IEnumerable<Base> found;
            try { found = Hl7.Fhir.FhirPath.FhirPathExtensions.Select(resource, path).OfType<Base>().ToList(); }
            catch (Exception) { continue; }
            var i = 0;
            foreach (var reference in found.OfType<ResourceReference>())
            {
                if (Named(reference.Reference, contained) is { } named && !targets.Contains(named)
                    && !outcome.Issue.Any(x => x.Expression.Contains($"{path}[{i}].reference"))) // the R4 check said it already
                    outcome.Issue.Add(Outcomes.Issue(IssueSeverity.Error, IssueType.Invalid,
                        $"The reference {reference.Reference} points to a {named}, but {path} may refer only to {string.Join(" or ", targets)} in profile {profile.Url}.", $"{path}[{i}].reference"));
                i++;
            }
        }
    }

    // "#id" of each contained resource → its type.
    private static Dictionary<string, string> Contained(Resource resource) =>
        (resource as DomainResource)?.Contained.Where(c => c.Id is not null).GroupBy(c => c.Id!).ToDictionary(g => "#" + g.Key, g => g.First().TypeName) ?? [];

    /// <summary>The resource type a literal reference names, or null when it cannot be told (urn:uuid, a logical id, a fragment not found).</summary>
    private static string? Named(string? reference, Dictionary<string, string> contained)
    {
        if (string.IsNullOrEmpty(reference) || reference.StartsWith("urn:", StringComparison.Ordinal)) return null;
        if (reference.StartsWith('#')) return contained.GetValueOrDefault(reference);
        var path = reference.Split('?')[0].Split('/', StringSplitOptions.RemoveEmptyEntries);
        var history = Array.IndexOf(path, "_history");
        if (history >= 0) path = path[..history];
        return path.Length >= 2 && ModelInfo.IsKnownResource(path[^2]) ? path[^2] : null;
    }
}
