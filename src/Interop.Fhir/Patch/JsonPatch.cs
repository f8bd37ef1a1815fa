using System.Text.Json;
using System.Text.Json.Nodes;
using Interop.Fhir.Errors;

namespace Interop.Fhir.Patch;

/// <summary>JSON Patch (RFC 6902) applied to a resource's JSON: add, remove, replace, move, copy, test.</summary>
public static class JsonPatch
{
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private static readonly JsonDocumentOptions PatchDocument = new() { MaxDepth = Limits.JsonDepth, AllowDuplicateProperties = false };
    private static readonly JsonDocumentOptions StoredDocument = new() { MaxDepth = Limits.StoredJsonDepth };

    public static string Apply(string resourceJson, ReadOnlySpan<byte> patchJson)
    {
        // System.Text.Json would quietly turn invalid UTF-8 inside strings into U+FFFD and store it.
        if (!System.Text.Unicode.Utf8.IsValid(patchJson))
            throw FhirException.BadRequest("The JSON Patch document is not valid UTF-8.");
        try
        {
            return ApplyChecked(resourceJson, patchJson);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or JsonException)
        {
            // Invalid UTF-8 or unpaired surrogates in the patch's strings surface only when a value is read or written.
            throw FhirException.BadRequest($"The JSON Patch document cannot be read: {e.Message}");
        }
    }

    private static string ApplyChecked(string resourceJson, ReadOnlySpan<byte> patchJson)
    {
        JsonArray operations;
        try
        {
            operations = JsonNode.Parse(patchJson, NodeOptions, PatchDocument) as JsonArray
                         ?? throw FhirException.BadRequest("A JSON Patch document is an array of operations.");
        }
        catch (JsonException e)
        {
            throw FhirException.BadRequest($"The JSON Patch document is not valid JSON: {e.Message}");
        }
        var document = JsonNode.Parse(resourceJson, NodeOptions, StoredDocument)!;
        for (var i = 0; i < operations.Count; i++)
        {
            var where = $"operation {i}";
            if (operations[i] is not JsonObject op || Text(op, "op") is not { } kind || Text(op, "path") is not { } path)
                throw FhirException.BadRequest($"JSON Patch {where} needs 'op' and 'path' as strings.", $"[{i}]");
            try
            {
                document = kind switch
                {
                    "add" => Add(document, path, Value(op, where)),
                    "remove" => Remove(document, path, out _),
                    "replace" => Add(Remove(document, path, out _), path, Value(op, where)),
                    "move" => Move(document, From(op, where), path),
                    "copy" => Add(document, path, Get(document, From(op, where)).DeepClone()),
                    "test" => Test(document, path, Value(op, where)),
                    _ => throw FhirException.BadRequest($"JSON Patch {where}: unknown op '{kind}' (add, remove, replace, move, copy, test).", $"[{i}].op"),
                };
            }
            catch (PatchException e)
            {
                throw FhirException.Of(e.Failed ? Errors.ErrorKind.PreconditionFailed : Errors.ErrorKind.Invalid, Hl7.Fhir.Model.OperationOutcome.IssueType.Processing, $"JSON Patch {where} ({kind} {path}): {e.Message}", $"[{i}]");
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
            {
                throw FhirException.Of(ErrorKind.Invalid, Hl7.Fhir.Model.OperationOutcome.IssueType.Processing, $"JSON Patch {where} ({kind} {path}) cannot be applied: {e.Message}", $"[{i}]");
            }
        }
        return document.ToJsonString();
    }

    /// <summary>A member that must be a string, or null when it is missing or of another JSON type.</summary>
    private static string? Text(JsonObject op, string name) =>
        op[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private sealed class PatchException(string message, bool failed = false) : Exception(message)
    {
        public bool Failed { get; } = failed;
    }

    private static JsonNode? Value(JsonObject op, string where) =>
        op.ContainsKey("value") ? op["value"]?.DeepClone() : throw FhirException.BadRequest($"JSON Patch {where} needs a 'value'.");

    private static string From(JsonObject op, string where) =>
        Text(op, "from") ?? throw FhirException.BadRequest($"JSON Patch {where} needs 'from' as a string.");

    private static List<string> Tokens(string path)
    {
        if (path == "") return [];
        if (!path.StartsWith('/')) throw new PatchException("a JSON Pointer starts with '/'");
        return path[1..].Split('/').Select(t => t.Replace("~1", "/").Replace("~0", "~")).ToList();
    }

    private static JsonNode Get(JsonNode document, string path)
    {
        var node = document;
        foreach (var token in Tokens(path))
            node = Child(node, token) ?? throw new PatchException($"'{path}' does not exist");
        return node;
    }

    private static JsonNode? Child(JsonNode node, string token) => node switch
    {
        JsonObject o => o[token],
        JsonArray a when int.TryParse(token, out var i) && i >= 0 && i < a.Count => a[i],
        _ => null,
    };

    private static (JsonNode Parent, string Last) Parent(JsonNode document, string path)
    {
        var tokens = Tokens(path);
        if (tokens.Count == 0) throw new PatchException("the whole document cannot be the target");
        var parent = document;
        foreach (var token in tokens[..^1]) parent = Child(parent, token) ?? throw new PatchException($"the parent of '{path}' does not exist");
        return (parent, tokens[^1]);
    }

    private static JsonNode Add(JsonNode document, string path, JsonNode? value)
    {
        var (parent, last) = Parent(document, path);
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw new PatchException($"cannot add at '{path}'");
        }
        return document;
    }

    private static JsonNode Remove(JsonNode document, string path, out JsonNode? removed)
    {
        var (parent, last) = Parent(document, path);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                removed = o[last];
                o.Remove(last);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count:
                removed = a[i];
                a.RemoveAt(i);
                break;
            default:
                throw new PatchException($"'{path}' does not exist");
        }
        return document;
    }

    private static JsonNode Move(JsonNode document, string from, string path)
    {
        Remove(document, from, out var value);
        return Add(document, path, value);
    }

    private static JsonNode Test(JsonNode document, string path, JsonNode? expected)
    {
        if (!JsonNode.DeepEquals(Get(document, path), expected)) throw new PatchException("the value differs", failed: true);
        return document;
    }
}
