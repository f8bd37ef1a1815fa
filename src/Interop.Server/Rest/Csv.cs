using System.Globalization;
using System.Text;

namespace Interop.Server.Rest;

/// <summary>CSV downloads (RFC 4180), safe to open in a spreadsheet: the access report's and the pages'.</summary>
public static class Csv
{
    public const string ContentType = "text/csv; charset=utf-8";

    /// <summary>A line of cells, quoted where needed, ending in CRLF.</summary>
    public static void Line(StringBuilder text, params object?[] cells)
    {
        text.AppendJoin(',', cells.Select(Cell));
        text.Append("\r\n");
    }

    /// <summary>
    /// One cell: numbers as they are (invariant culture); text quoted when it holds a comma, quote or line break, and
    /// a text beginning with =, +, -, @, tab or carriage return prefixed with ' so a spreadsheet does not run it as a formula.
    /// </summary>
    public static string Cell(object? value)
    {
        switch (value)
        {
            case null: return "";
            case int or long or decimal or double: return Convert.ToString(value, CultureInfo.InvariantCulture)!;
            case bool b: return b ? "true" : "false";
        }
        var text = value.ToString() ?? "";
        if (text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r') text = "'" + text;
        return text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;
    }

    /// <summary>The bytes of a download: UTF-8 with a byte-order mark, so spreadsheets read Chinese names right.</summary>
    public static byte[] Bytes(StringBuilder text) => [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(text.ToString())];
}
