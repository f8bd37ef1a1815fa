using Interop.Fhir.Indexing;
using System.Globalization;
using Interop.Fhir.Errors;

namespace Interop.Fhir.Search;

/// <summary>Parsing of search values: prefixes, numbers with their precision, dates, quantities, tokens.</summary>
public static class SearchValues
{
    private static readonly string[] Prefixes = ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"];

    public static (string Prefix, string Value) SplitPrefix(string value)
    {
        if (value.Length > 2 && Prefixes.Contains(value[..2]) && (char.IsDigit(value[2]) || value[2] is '-' or '.' or '+'))
            return (value[..2], value[2..]);
        if (value.Length > 2 && char.IsLetter(value[0]) && char.IsLetter(value[1]) && (char.IsDigit(value[2]) || value[2] == '-'))
            throw new FormatException($"'{value[..2]}' is not a search prefix (eq, ne, gt, lt, ge, le, sa, eb, ap)");
        return ("eq", value);
    }

    public static (string Prefix, DateTimeOffset Lo, DateTimeOffset Hi) Date(string raw, string name)
    {
        try
        {
            var (prefix, value) = SplitPrefix(raw);
            if (!FhirDates.TryParse(value, out var lo, out var hi)) throw new FormatException($"'{value}' is not a FHIR date, dateTime or instant");
            return (prefix, lo, hi);
        }
        catch (FormatException e)
        {
            throw FhirException.BadRequest($"Invalid date search value '{raw}' for '{name}': {e.Message}.", name);
        }
    }

    /// <summary>A number and the range its precision implies: 100 → [99.5, 100.5), 100.0 → [99.95, 100.05).</summary>
    public static (string Prefix, decimal Value, decimal Lo, decimal Hi) Number(string raw, string name)
    {
        try
        {
            var (prefix, value) = SplitPrefix(raw);
            if (!decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                throw new FormatException($"'{value}' is not a number");
            var mantissa = value.Split('e', 'E')[0];
            var decimals = mantissa.Contains('.') ? mantissa.Length - mantissa.IndexOf('.') - 1 : 0;
            var half = 0.5m / (decimal)Math.Pow(10, decimals);
            return (prefix, number, number - half, number + half);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw FhirException.BadRequest($"Invalid number search value '{raw}' for '{name}': {e.Message}.", name);
        }
    }

    public static (string Prefix, decimal Value, decimal Lo, decimal Hi, string? System, string? Code) Quantity(string raw, string name)
    {
        var parts = raw.Split('|');
        if (parts.Length is not (1 or 3)) throw FhirException.BadRequest($"Invalid quantity search value '{raw}' for '{name}': use [prefix]number|system|code.", name);
        var (prefix, value, lo, hi) = Number(parts[0], name);
        return (prefix, value, lo, hi, parts.Length == 3 && parts[1] != "" ? parts[1] : null, parts.Length == 3 && parts[2] != "" ? parts[2] : null);
    }

    /// <summary>code, system|code, |code, system| → (hasSystem, system, code).</summary>
    public static (bool HasSystem, string? System, string? Code) Token(string value)
    {
        var bar = value.IndexOf('|');
        if (bar < 0) return (false, null, value);
        var system = value[..bar];
        var code = value[(bar + 1)..];
        return (true, system == "" ? null : system, code == "" ? null : code);
    }

    public static string LikePrefix(string text) =>
        text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");
}
