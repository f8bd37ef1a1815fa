using Interop.Fhir.Indexing;
using System.Collections;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;

namespace Interop.Fhir.Patch;

/// <summary>
/// FHIRPath Patch (http://hl7.org/fhir/R4/fhirpatch.html): a Parameters resource of operations
/// add, insert, delete, replace and move, each locating elements with a FHIRPath expression.
/// </summary>
public static class FhirPathPatch
{
    public static void Apply(Resource resource, Parameters patch)
    {
        var operations = patch.Parameter.Where(p => p.Name == "operation").ToList();
        if (operations.Count == 0) throw FhirException.BadRequest("A FHIRPath Patch has 'operation' parameters.", "Parameters.parameter");
        for (var i = 0; i < operations.Count; i++)
        {
            var parts = operations[i].Part;
            string? Part(string name) => parts.FirstOrDefault(x => x.Name == name)?.Value?.ToString();
            var type = Part("type") ?? throw Bad(i, "has no type");
            var path = Part("path") ?? throw Bad(i, "has no path");
            var value = parts.FirstOrDefault(x => x.Name == "value")?.Value;
            CheckPath(path, i);
            try
            {
                switch (type)
                {
                    case "add":
                        var name = Part("name") ?? throw Bad(i, "add needs a name");
                        foreach (var target in Select(resource, path)) Add(target, name, value ?? throw Bad(i, "add needs a value"));
                        break;
                    case "insert":
                        Insert(resource, path, value ?? throw Bad(i, "insert needs a value"), Index(Part("index"), i));
                        break;
                    case "delete":
                        foreach (var (parent, element, item) in Locate(resource, path)) Remove(parent, element, item);
                        break;
                    case "replace":
                        var located = Locate(resource, path);
                        if (located.Count != 1) throw Bad(i, $"replace needs exactly one element at '{path}', found {located.Count}");
                        Replace(located[0].Parent, located[0].Element, located[0].Item, value ?? throw Bad(i, "replace needs a value"));
                        break;
                    case "move":
                        Move(resource, path, Index(Part("source"), i), Index(Part("destination"), i));
                        break;
                    default:
                        throw Bad(i, $"type '{type}' is not one of add, insert, delete, replace, move");
                }
            }
            catch (Exception e) when (e is not FhirException and not OperationCanceledException)
            {
                throw FhirException.Of(ErrorKind.Unprocessable, OperationOutcome.IssueType.Processing, $"FHIRPath Patch operation {i} ({type} {path}) cannot be applied: {e.Message}", $"Parameters.parameter[{i}]");
            }
        }
    }

    /// <summary>
    /// Bounds the expression before it is compiled (the compiler recurses per bracket and per step, and a deep
    /// enough expression would overflow the stack and end the process), then compiles it: a syntax error is a 400.
    /// </summary>
    private static void CheckPath(string path, int i)
    {
        if (path.Length > Limits.FhirPathLength)
            throw Bad(i, $"has a path of {path.Length} characters; the limit is {Limits.FhirPathLength}");
        int depth = 0, deepest = 0, steps = 0;
        foreach (var c in path)
        {
            if (c is '(' or '[' or '{') deepest = Math.Max(deepest, ++depth);
            else if (c is ')' or ']' or '}') depth--;
            else if (c == '.') steps++;
        }
        if (deepest > Limits.FhirPathNesting) throw Bad(i, $"nests brackets {deepest} deep in its path; the limit is {Limits.FhirPathNesting}");
        if (steps > Limits.FhirPathNesting * 4) throw Bad(i, $"has {steps} steps in its path; the limit is {Limits.FhirPathNesting * 4}");
        try
        {
            SearchParamRegistry.Compiler.Compile(path);
        }
        catch (Exception e) when (e is not FhirException and not OperationCanceledException)
        {
            throw Bad(i, $"has a path that is not valid FHIRPath ('{path}'): {e.Message}");
        }
    }

    private static FhirException Bad(int i, string message) =>
        FhirException.BadRequest($"FHIRPath Patch operation {i} {message}.", $"Parameters.parameter[{i}]");

    private static int Index(string? text, int i) =>
        int.TryParse(text, out var index) && index >= 0 ? index : throw Bad(i, $"needs a whole number index, not '{text}'");

    private static List<Base> Select(Resource resource, string path)
    {
        var node = resource.ToPocoNode(ModelInfo.ModelInspector);
        var context = new FhirEvaluationContext { Resource = node, RootResource = node };
        return SearchParamRegistry.Compiler.Compile(path).Invoke([node], context).Select(n => n.Poco).OfType<Base>().ToList();
    }

    /// <summary>Each selected element with its parent and element name (and the item when it sits in a list).</summary>
    private static List<(Base Parent, string Element, Base Item)> Locate(Resource resource, string path)
    {
        var targets = Select(resource, path);
        var found = new List<(Base, string, Base)>();
        foreach (var target in targets)
        {
            var owner = Owner(resource, target) ?? throw new InvalidOperationException("the element's parent could not be found");
            found.Add((owner.Parent, owner.Element, target));
        }
        return found;
    }

    private static (Base Parent, string Element)? Owner(Base node, Base target)
    {
        foreach (var (name, value) in node.EnumerateElements())
        {
            if (ReferenceEquals(value, target)) return (node, name);
            if (value is IEnumerable list and not string && list.Cast<object>().Any(x => ReferenceEquals(x, target))) return (node, name);
            foreach (var child in value is IEnumerable l and not string ? l.OfType<Base>() : value is Base b ? [b] : [])
                if (Owner(child, target) is { } deeper) return deeper;
        }
        return null;
    }

    private static void Add(Base target, string name, DataType value)
    {
        if (target.TryGetValue(name, out var current) && current is IList list) list.Add(value);
        else target[name] = value;
    }

    private static void Insert(Resource resource, string path, DataType value, int index)
    {
        var (parent, name) = SplitPath(resource, path);
        if (!parent.TryGetValue(name, out var value0) || value0 is not IList list) throw new InvalidOperationException($"'{name}' is not a list with items");
        list.Insert(Math.Min(index, list.Count), value);
    }

    private static void Move(Resource resource, string path, int source, int destination)
    {
        var (parent, name) = SplitPath(resource, path);
        if (!parent.TryGetValue(name, out var value) || value is not IList list || source >= list.Count) throw new InvalidOperationException($"'{name}' has no item {source}");
        var item = list[source];
        list.RemoveAt(source);
        list.Insert(Math.Min(destination, list.Count), item);
    }

    private static (Base Parent, string Name) SplitPath(Resource resource, string path)
    {
        var dot = path.LastIndexOf('.');
        if (dot < 0) throw new InvalidOperationException($"'{path}' names no element");
        var parents = Select(resource, path[..dot]);
        if (parents.Count != 1) throw new InvalidOperationException($"'{path[..dot]}' selects {parents.Count} elements, not one");
        return (parents[0], path[(dot + 1)..]);
    }

    private static void Remove(Base parent, string element, Base item)
    {
        if (parent.TryGetValue(element, out var value) && value is IList list) list.Remove(item);
        else parent[element] = null!;
    }

    private static void Replace(Base parent, string element, Base item, DataType value)
    {
        if (parent.TryGetValue(element, out var current) && current is IList list) list[list.IndexOf(item)] = value;
        else parent[element] = value;
    }
}
