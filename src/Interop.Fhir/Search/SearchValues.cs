using Interop.Fhir.Indexing;
using System.Globalization;
using Interop.Fhir.Errors;
using Hl7.Fhir.Model;

namespace Interop.Fhir.Search;

/// <summary>The comparison prefixes of number, date and quantity values (http://hl7.org/fhir/R4/search.html#prefix).</summary>
public enum Prefix { Eq, Ne, Gt, Lt, Ge, Le, Sa, Eb, Ap }

/// <summary>One search value, parsed once by the parser; the SQL compiler only reads these.</summary>
public abstract record SearchValue;

/// <summary>A string value: normalised (case and accents folded) for prefix and :contains, as written for :exact.</summary>
public sealed record StringValue(string Normalized, string Exact) : SearchValue;

/// <summary>code, system|code, |code (no system), system| (any code of the system).</summary>
public sealed record TokenValue(bool HasSystem, string? System, string? Code) : SearchValue;

/// <summary>:text — matched against the display text, normalised.</summary>
public sealed record TokenTextValue(string Normalized) : SearchValue;

/// <summary>:of-type — an identifier's type (system|code) and its value.</summary>
public sealed record OfTypeValue(string TypeSystem, string TypeCode, string Value) : SearchValue;

/// <summary>A date with its prefix; [Lo, Hi) is the range its precision implies.</summary>
public sealed record DateValue(Prefix Prefix, DateTimeOffset Lo, DateTimeOffset Hi) : SearchValue;

/// <summary>A number with its prefix; [Lo, Hi) is the range its precision implies (100 → [99.5, 100.5)).</summary>
public sealed record NumberValue(Prefix Prefix, decimal Value, decimal Lo, decimal Hi) : SearchValue;

public sealed record QuantityValue(NumberValue Number, string? System, string? Code) : SearchValue;

/// <summary>A reference: an absolute URL (or urn), a "Type/id" key, or a bare id (any type).</summary>
public sealed record ReferenceValue(ReferenceForm Form, string Value) : SearchValue
{
    /// <param name="typeModifier">subject:Patient=123 names the type the bare id belongs to.</param>
    public static ReferenceValue Parse(string value, string? typeModifier)
    {
        if (value.Contains("://", StringComparison.Ordinal) || value.StartsWith("urn:", StringComparison.Ordinal))
            return new ReferenceValue(ReferenceForm.Url, value);
        var parts = value.Split('/');
        if (typeModifier is not null) return new ReferenceValue(ReferenceForm.Key, parts.Length == 1 ? typeModifier + "/" + value : value);
        return parts.Length >= 2 ? new ReferenceValue(ReferenceForm.Key, parts[0] + "/" + parts[1]) : new ReferenceValue(ReferenceForm.Id, value);
    }
}

public enum ReferenceForm { Url, Key, Id }

public sealed record UriValue(string Text) : SearchValue;

/// <summary>_text / _content: a full-text query.</summary>
public sealed record TextQueryValue(string Query) : SearchValue;

/// <summary>A composite value: a token, then the second component's value.</summary>
public sealed record CompositeValue(TokenValue First, SearchValue Second) : SearchValue;

/// <summary>:missing=true|false.</summary>
public sealed record MissingValue(bool Missing) : SearchValue;

/// <summary>An _id value.</summary>
public sealed record IdValue(string Id) : SearchValue;

/// <summary>Parsing of search values: prefixes, numbers with their precision, dates, quantities, tokens.</summary>
public static class SearchValues
{
    private static readonly string[] Prefixes = ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"];

    /// <summary>The typed value of one (OR-ed) value of <paramref name="param"/>; malformed values are 400 naming the parameter.</summary>
    public static SearchValue Parse(SearchParam param, string? modifier, string value, string name)
    {
        if (modifier == "missing")
            return value switch
            {
                "true" => new MissingValue(true), "false" => new MissingValue(false),
                _ => throw FhirException.BadRequest($"':missing' takes true or false, not '{value}'.", name),
            };
        if (param.Name == "_id") return new IdValue(value);
        if (param.Type == SearchParamType.Reference && modifier == "identifier") return Token(value);
        return param.Type switch
        {
            SearchParamType.String => new StringValue(IndexExtractor.Normalize(value), value),
            SearchParamType.Token when modifier == "text" => new TokenTextValue(IndexExtractor.Normalize(value)),
            SearchParamType.Token when modifier == "of-type" => value.Split('|') is [var s, var c, var v]
                ? new OfTypeValue(s, c, v) : throw FhirException.BadRequest($"':of-type' takes system|code|value, not '{value}'.", name),
            SearchParamType.Token => Token(value),
            SearchParamType.Date => Date(value, name),
            SearchParamType.Number => Number(value, name),
            SearchParamType.Quantity => Quantity(value, name),
            SearchParamType.Reference => ReferenceValue.Parse(value, modifier),
            SearchParamType.Uri => new UriValue(value),
            SearchParamType.Special => new TextQueryValue(value),
            SearchParamType.Composite => Composite(param, value, name),
            _ => throw FhirException.BadRequest($"Parameter '{name}' cannot be searched this way.", name),
        };
    }

    private static CompositeValue Composite(SearchParam param, string value, string name)
    {
        var parts = value.Split('$');
        if (parts.Length != 2) throw FhirException.BadRequest($"Composite '{name}' takes two values joined by $, not '{value}'.", name);
        SearchValue second = param.Components[1].Type switch
        {
            SearchParamType.Quantity => Quantity(parts[1], name),
            SearchParamType.Number => Number(parts[1], name),
            SearchParamType.Date => Date(parts[1], name),
            SearchParamType.String => new StringValue(IndexExtractor.Normalize(parts[1]), parts[1]),
            _ => Token(parts[1]),
        };
        return new CompositeValue(Token(parts[0]), second);
    }

    public static (Prefix Prefix, string Value) SplitPrefix(string value)
    {
        if (value.Length > 2 && Prefixes.Contains(value[..2]) && (char.IsDigit(value[2]) || value[2] is '-' or '.' or '+'))
            return (Enum.Parse<Prefix>(value[..2], ignoreCase: true), value[2..]);
        if (value.Length > 2 && char.IsLetter(value[0]) && char.IsLetter(value[1]) && (char.IsDigit(value[2]) || value[2] == '-'))
            throw new FormatException($"'{value[..2]}' is not a search prefix (eq, ne, gt, lt, ge, le, sa, eb, ap)");
        return (Prefix.Eq, value);
    }

    public static DateValue Date(string raw, string name)
    {
        try
        {
            var (prefix, value) = SplitPrefix(raw);
            if (!FhirDates.TryParse(value, out var lo, out var hi)) throw new FormatException($"'{value}' is not a FHIR date, dateTime or instant");
            return new DateValue(prefix, lo, hi);
        }
        catch (FormatException e)
        {
            throw FhirException.BadRequest($"Invalid date search value '{raw}' for '{name}': {e.Message}.", name);
        }
    }

    /// <summary>A number and the range its precision implies: 100 → [99.5, 100.5), 100.0 → [99.95, 100.05).</summary>
    public static NumberValue Number(string raw, string name)
    {
        try
        {
            var (prefix, value) = SplitPrefix(raw);
            if (!decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                throw new FormatException($"'{value}' is not a number");
            var mantissa = value.Split('e', 'E')[0];
            var decimals = mantissa.Contains('.') ? mantissa.Length - mantissa.IndexOf('.') - 1 : 0;
            var half = 0.5m / (decimal)Math.Pow(10, decimals);
            return new NumberValue(prefix, number, number - half, number + half);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw FhirException.BadRequest($"Invalid number search value '{raw}' for '{name}': {e.Message}.", name);
        }
    }

    public static QuantityValue Quantity(string raw, string name)
    {
        var parts = raw.Split('|');
        if (parts.Length is not (1 or 3)) throw FhirException.BadRequest($"Invalid quantity search value '{raw}' for '{name}': use [prefix]number|system|code.", name);
        return new QuantityValue(Number(parts[0], name), parts.Length == 3 && parts[1] != "" ? parts[1] : null, parts.Length == 3 && parts[2] != "" ? parts[2] : null);
    }

    /// <summary>code, system|code, |code, system| → (hasSystem, system, code).</summary>
    public static TokenValue Token(string value)
    {
        var bar = value.IndexOf('|');
        if (bar < 0) return new TokenValue(false, null, value);
        var system = value[..bar];
        var code = value[(bar + 1)..];
        return new TokenValue(true, system == "" ? null : system, code == "" ? null : code);
    }

    public static string LikePrefix(string text) =>
        text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");
}
