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
    public static string Describe(string text, int at) =>
        $"U+{(int)text[at]:X4} at character {at + 1}";

    /// <summary>400 when <paramref name="text"/> has a character FHIR does not allow; <paramref name="where"/> names it.</summary>
    public static void CheckText(string? text, string where)
    {
        if (text is null) return;
        var at = FhirText.BadCharacter(text);
        if (at >= 0)
            throw FhirException.Of(ErrorKind.Invalid, OperationOutcome.IssueType.Invalid,
                $"{where} contains a character that FHIR does not allow ({Describe(text, at)}): control characters other than tab, CR and LF, non-characters and unpaired surrogates are refused.", where);
    }

    /// <summary>
    /// Checks a resource about to be stored, given the compact JSON it will be stored as. The JSON writer escapes every
    /// character of concern (\u0000-style, \b, \f) and writes non-characters and surrogates recognisably, so a
    /// vectorised scan clears almost every resource; only one with a suspect character is walked to find it.
    /// </summary>
    public static void CheckStored(Resource resource, string json)
    {
        if (!MaybeBad(json)) return;
        Walk(resource, resource.TypeName, narrative: false);
    }

    /// <summary>Checks every value in a resource (contained resources and bundle entries included), and with
    /// <paramref name="narrative"/> that every narrative is FHIR's XHTML subset.</summary>
    public static void CheckResource(Base resource, bool narrative) => Walk(resource, resource.TypeName, narrative);

    private static bool MaybeBad(string json)
    {
        var span = json.AsSpan();
        if (span.IndexOfAnyInRange('\uD800', '\uDFFF') >= 0 || span.IndexOfAny('\uFFFE', '\uFFFF') >= 0) return true;
        for (var i = span.IndexOf('\\'); i >= 0 && i + 1 < span.Length; )
        {
            var next = span[i + 1];
            if (next is 'b' or 'f') return true;
            if (next == 'u' && i + 5 < span.Length && int.TryParse(span.Slice(i + 2, 4), System.Globalization.NumberStyles.HexNumber, null, out var code)
                && (code < 0x20 && code is not (0x09 or 0x0A or 0x0D) || code is >= 0xD800 and <= 0xDFFF or 0xFFFE or 0xFFFF))
                return true;
            var skip = next == '\\' ? 2 : 1;
            var rest = span[(i + skip)..].IndexOf('\\');
            i = rest < 0 ? -1 : i + skip + rest;
        }
        return false;
    }

    private static void Walk(Base node, string path, bool narrative)
    {
        if (node is PrimitiveType primitive && primitive.ToString() is { } text)
        {
            CheckText(text, path);
            // Narrative is FHIR's XHTML subset whatever format it came in (no script, no event handlers, no forms).
            if (narrative && node is XHtml && !XHtml.IsValidNarrativeXhtml(text, out var parseError, out var errors))
                throw FhirException.Of(ErrorKind.Invalid, OperationOutcome.IssueType.Value,
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
                    Walk(child, $"{path}.{name}", narrative);
                    break;
                case IEnumerable list:
                    var i = 0;
                    foreach (var item in list)
                    {
                        if (item is Base b) Walk(b, $"{path}.{name}[{i}]", narrative);
                        else if (item is string s2) CheckText(s2, $"{path}.{name}[{i}]");
                        i++;
                    }
                    break;
            }
        }
    }
}
