namespace Interop.Fhir.Errors;

/// <summary>
/// Which characters FHIR allows in a value (http://hl7.org/fhir/R4/datatypes.html#string): no control characters
/// but tab, CR and LF, no non-characters, whole code points (no unpaired surrogates).
/// </summary>
public static class FhirText
{
    /// <summary>The position of the first character from <paramref name="start"/> on that is not allowed, or -1.</summary>
    public static int BadCharacter(string text, int start = 0)
    {
        for (var i = start; i < text.Length; i++)
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
}
