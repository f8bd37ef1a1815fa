namespace Interop.Fhir.Formats;

/// <summary>URL-safe base64 without padding, for the opaque cursors paging links carry.</summary>
public static class Base64Url
{
    public static string Encode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The bytes, or null when <paramref name="text"/> is not URL-safe base64.</summary>
    public static byte[]? Decode(string text)
    {
        var b64 = text.Replace('-', '+').Replace('_', '/');
        try { return Convert.FromBase64String(b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=')); }
        catch (FormatException) { return null; }
    }
}
