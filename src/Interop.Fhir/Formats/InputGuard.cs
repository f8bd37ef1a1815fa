using System.Collections;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;

namespace Interop.Fhir.Formats;

/// <summary>
/// Characters FHIR does not allow in any value (http://hl7.org/fhir/R4/datatypes.html#string: no control
/// characters but tab, CR and LF; no non-characters; whole code points) — and that PostgreSQL cannot store or
/// compare (a NUL in a text parameter fails the statement). Checked on every resource before it is written and on
/// every search value before it becomes SQL, so such input is a 400 naming where it is.
/// </summary>
public static class InputGuard
{
    /// <summary>The position of the first character that is not allowed, or -1.</summary>
    public static int BadCharacter(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < ' ' && c is not ('\t' or '\r' or '\n')) return i;
            if (c is '\uFFFE' or '\uFFFF') return i;
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
                return i;
            }
            if (char.IsLowSurrogate(c)) return i;
        }
        return -1;
    }

    public static string Describe(string text, int at) =>
        $"U+{(int)text[at]:X4} at character {at + 1}";

    /// <summary>400 when <paramref name="text"/> has a character FHIR does not allow; <paramref name="where"/> names it.</summary>
    public static void CheckText(string? text, string where)
    {
        if (text is null) return;
        var at = BadCharacter(text);
        if (at >= 0)
            throw FhirException.Of(400, OperationOutcome.IssueType.Invalid,
                $"{where} contains a character that FHIR does not allow ({Describe(text, at)}): control characters other than tab, CR and LF, non-characters and unpaired surrogates are refused.", where);
    }

    /// <summary>Checks every string value in a resource (contained resources and bundle entries included).</summary>
    public static void CheckResource(Base resource) => Walk(resource, resource.TypeName);

    private static void Walk(Base node, string path)
    {
        if (node is PrimitiveType primitive && primitive.ToString() is { } text)
        {
            CheckText(text, path);
            // Narrative is FHIR's XHTML subset whatever format it came in (no script, no event handlers, no forms).
            if (node is XHtml && !XHtml.IsValidNarrativeXhtml(text, out var parseError, out var errors))
                throw FhirException.Of(400, OperationOutcome.IssueType.Value,
                    $"{path} is not valid FHIR narrative XHTML: {(string.IsNullOrEmpty(parseError) ? string.Join("; ", errors ?? []) : parseError)}", path);
        }
        foreach (var (name, value) in node.EnumerateElements())
        {
            switch (value)
            {
                case string s when name != "value": // a primitive's own value is checked above
                    CheckText(s, $"{path}.{name}");
                    break;
                case Base child:
                    Walk(child, $"{path}.{name}");
                    break;
                case IEnumerable list:
                    var i = 0;
                    foreach (var item in list)
                    {
                        if (item is Base b) Walk(b, $"{path}.{name}[{i}]");
                        else if (item is string s2) CheckText(s2, $"{path}.{name}[{i}]");
                        i++;
                    }
                    break;
            }
        }
    }
}
