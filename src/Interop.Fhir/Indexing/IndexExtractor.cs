using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Interop.Fhir.Model;

namespace Interop.Fhir.Indexing;

/// <summary>
/// Evaluates every search parameter of a resource's type on the resource (compiled FHIRPath) and turns
/// the values into index rows: strings normalised, codings and identifiers as tokens, dates as ranges...
/// </summary>
public static partial class IndexExtractor
{
    /// <param name="known">The server's parameters (with those defined at run time); the fixed ones when null.</param>
    public static IndexRows Extract(Resource resource, string json, SearchParams? known = null) => Extract(resource, json, null, known ?? SearchParams.Core);

    /// <summary>The rows of these parameters only, without the text: for a check that needs a few values before the write indexes everything.</summary>
    public static IndexRows Extract(Resource resource, IReadOnlyCollection<string> parameters, SearchParams? known = null) =>
        Extract(resource, null, parameters, known ?? SearchParams.Core);

    private static IndexRows Extract(Resource resource, string? json, IReadOnlyCollection<string>? only, SearchParams known)
    {
        var rows = new IndexRows();
        PocoNode? node = null;
        FhirEvaluationContext? context = null;
        foreach (var param in known.For(resource.TypeName).Values)
        {
            if (param.Compiled is null || (only is not null && !only.Contains(param.Name))) continue;
            if (param.Fast is { } fast)
            {
                foreach (var value in fast.Evaluate(resource)) Add(rows, param, value);
                continue;
            }
            node ??= resource.ToPocoNode(ModelInfo.ModelInspector);
            context ??= new FhirEvaluationContext { Resource = node, RootResource = node, ElementResolver = ResolveStub };
            List<PocoNode> values;
            try
            {
                values = param.Compiled.Invoke([node], context).ToList();
            }
            catch (Exception e) when (e is InvalidCastException or InvalidOperationException or ArgumentException or FormatException)
            {
                continue; // An expression the SDK cannot evaluate on this instance: the parameter has no value here.
            }
            foreach (var value in values)
            {
                if (param.Type == SearchParamType.Composite) AddComposite(rows, param, value, context);
                else if (value.Poco is { } poco) Add(rows, param, poco);
            }
        }
        if (json is null) return rows;
        rows.Narrative = resource is DomainResource { Text.Div: { } div } ? StripTags(div) : "";
        rows.Content = ContentText(json);
        return rows;
    }

    // resolve() in expressions like "subject.where(resolve() is Patient)": an empty instance of the
    // referenced type is enough to answer the type test.
    private static PocoNode ResolveStub(string reference)
    {
        var type = FastPath.ReferenceType(reference);
        return type is null ? null! : ((Resource)Activator.CreateInstance(ModelInfo.GetTypeForFhirType(type)!)!).ToPocoNode(ModelInfo.ModelInspector);
    }

    private static void Add(IndexRows rows, SearchParam param, Base value)
    {
        var name = param.Name;
        switch (param.Type)
        {
            case SearchParamType.String:
                foreach (var s in Strings(value)) rows.Strings.Add((name, Normalize(s), s));
                break;
            case SearchParamType.Token:
                AddTokens(rows, name, value);
                break;
            case SearchParamType.Date:
                if (DateRange(value) is var (lo, hi)) rows.Dates.Add((name, lo, hi));
                break;
            case SearchParamType.Number:
                if (Number(value) is { } n) rows.Numbers.Add((name, n));
                break;
            case SearchParamType.Quantity:
                if (value is Quantity { Value: { } qv } q)
                {
                    var canonical = Ucum.Canonical(q.System, q.Code, qv);
                    rows.Quantities.Add((name, q.System, q.Code, q.Unit, qv, canonical?.Code, canonical?.Value));
                }
                else if (value is Money { Value: { } mv } money) rows.Quantities.Add((name, "urn:iso:std:iso:4217", money.Currency?.ToString(), null, mv, null, null));
                break;
            case SearchParamType.Reference:
                AddReference(rows, name, value);
                break;
            case SearchParamType.Uri:
                if (value is PrimitiveType { JsonValue: { } uri }) rows.Uris.Add((name, uri.ToString()!));
                break;
        }
    }

    private static void AddTokens(IndexRows rows, string name, Base value)
    {
        switch (value)
        {
            case Coding c:
                rows.Tokens.Add((name, c.System, c.Code, NormalizeOrNull(c.Display), null));
                break;
            case CodeableConcept cc:
                foreach (var c in cc.Coding) rows.Tokens.Add((name, c.System, c.Code, NormalizeOrNull(c.Display ?? cc.Text), null));
                if (cc.Coding.Count == 0 && cc.Text is { } text) rows.Tokens.Add((name, null, null, Normalize(text), null));
                break;
            case Identifier id:
                var typeKeys = id.Type?.Coding.Select(t => $"{t.System}|{t.Code}").ToList() ?? [];
                rows.Tokens.Add((name, id.System, id.Value, NormalizeOrNull(id.Type?.Text), typeKeys.FirstOrDefault()));
                foreach (var extra in typeKeys.Skip(1)) rows.Tokens.Add((name, id.System, id.Value, null, extra));
                break;
            case ContactPoint cp:
                rows.Tokens.Add((name, cp.System?.ToString().ToLowerInvariant(), cp.Value, null, null));
                break;
            case FhirBoolean b when b.Value is { } bv:
                rows.Tokens.Add((name, null, bv ? "true" : "false", null, null));
                break;
            case PrimitiveType { JsonValue: { } v } p:
                rows.Tokens.Add((name, null, p is Code or Id or FhirString or FhirUri ? p.ToString() : Convert.ToString(v, CultureInfo.InvariantCulture), null, null));
                break;
        }
    }

    private static void AddReference(IndexRows rows, string name, Base value)
    {
        switch (value)
        {
            case ResourceReference r:
                if (r.Reference is { } reference) rows.References.Add(ParseReference(name, reference));
                if (r.Identifier is { } identifier) rows.Tokens.Add((name + ":identifier", identifier.System, identifier.Value, null, null));
                break;
            case PrimitiveType { JsonValue: { } canonical }:
                rows.References.Add((name, null, null, canonical.ToString()));
                break;
        }
    }

    /// <summary>"Type/id" and "Type/id/_history/n" become a target; anything else (absolute, urn:, #) is kept as url.</summary>
    public static (string Param, string? TargetType, string? TargetId, string? Url) ParseReference(string name, string reference)
    {
        var parts = reference.Split('/');
        if (!reference.Contains(':') && parts.Length is 2 or 4 && ResourceTypes.All.Contains(parts[0]))
            return (name, parts[0], parts[1], null);
        return (name, null, null, reference);
    }

    private static void AddComposite(IndexRows rows, SearchParam param, PocoNode element, FhirEvaluationContext context)
    {
        if (param.Components.Count != 2 || param.Components[0].Type != SearchParamType.Token) return;
        var first = new IndexRows();
        foreach (var v in param.Components[0].Compiled.Invoke([element], context)) if (v.Poco is { } b) AddTokens(first, "c", b);
        var second = param.Components[1].Compiled.Invoke([element], context).Select(n => n.Poco).OfType<Base>().ToList();
        foreach (var (_, system, code, _, _) in first.Tokens)
        foreach (var v in second)
        {
            CompositeRow? row = param.Components[1].Type switch
            {
                SearchParamType.Quantity when v is Quantity { Value: { } qv } q => QuantityComposite(param.Name, system, code, q, qv),
                SearchParamType.Number when Number(v) is { } n => new CompositeRow(param.Name, system, code, Number: n),
                SearchParamType.Date when DateRange(v) is var (lo, hi) => new CompositeRow(param.Name, system, code, Lo: lo, Hi: hi),
                SearchParamType.String => new CompositeRow(param.Name, system, code, Text: Normalize(Strings(v).FirstOrDefault() ?? "")),
                SearchParamType.Token => TokenComposite(param.Name, system, code, v),
                _ => null,
            };
            if (row is not null) rows.Composites.Add(row);
        }
    }

    private static CompositeRow? TokenComposite(string name, string? system, string? code, Base v)
    {
        var tokens = new IndexRows();
        AddTokens(tokens, "v", v);
        return tokens.Tokens.Count == 0 ? null : new CompositeRow(name, system, code, tokens.Tokens[0].System, tokens.Tokens[0].Code);
    }

    private static IEnumerable<string> Strings(Base value) => value switch
    {
        HumanName n => new[] { n.Family, n.Text }.Concat(n.Given).Concat(n.Prefix).Concat(n.Suffix).OfType<string>(),
        Address a => new[] { a.City, a.District, a.State, a.PostalCode, a.Country, a.Text }.Concat(a.Line).OfType<string>(),
        PrimitiveType { JsonValue: { } v } => [Convert.ToString(v, CultureInfo.InvariantCulture)!],
        _ => [],
    };

    private static CompositeRow QuantityComposite(string name, string? system, string? code, Quantity q, decimal value)
    {
        var canonical = Ucum.Canonical(q.System, q.Code, value);
        return new CompositeRow(name, system, code, q.System, q.Code ?? q.Unit, value, CanonCode: canonical?.Code, CanonNumber: canonical?.Value);
    }

    private static (DateTimeOffset, DateTimeOffset)? DateRange(Base value)
    {
        switch (value)
        {
            case Date or FhirDateTime or Instant or FhirString when value is PrimitiveType p:
                var text = p is Instant { Value: { } instant } ? instant.ToString("o") : p.ToString();
                return FhirDates.TryParse(text, out var lo, out var hi) ? (lo, hi) : null;
            case Period period:
                if (period.Start is null && period.End is null) return null;
                DateTimeOffset start = FhirDates.MinValue, startHi = FhirDates.MinValue, end = FhirDates.MaxValue, endLo = FhirDates.MaxValue;
                if (period.Start is { } s && FhirDates.TryParse(s, out var sLo, out var sHi)) (start, startHi) = (sLo, sHi);
                if (period.End is { } e && FhirDates.TryParse(e, out var eLo, out var eHi)) (endLo, end) = (eLo, eHi);
                // From the start's first instant to the end's last: {1990, 1990-06} ends with June 1990, not with 1990.
                // A reversed period (it breaks per-1) becomes the hull of its ends, never an empty range.
                return end > start ? (start, end) : (start < endLo ? start : endLo, end > startHi ? end : startHi);
            case Timing timing:
                var events = timing.Event.Select(ev => FhirDates.TryParse(ev, out var l, out var h) ? (l, h) : ((DateTimeOffset, DateTimeOffset)?)null).OfType<(DateTimeOffset, DateTimeOffset)>().ToList();
                if (timing.Repeat?.Bounds is Period bounds && DateRange(bounds) is { } b) events.Add(b);
                return events.Count == 0 ? null : (events.Min(x => x.Item1), events.Max(x => x.Item2));
            default:
                return null;
        }
    }

    private static decimal? Number(Base value) => value switch
    {
        FhirDecimal { Value: { } d } => d,
        Integer { Value: { } i } => i,
        UnsignedInt { Value: { } u } => u,
        PositiveInt { Value: { } p } => p,
        Integer64 { Value: { } l } => l,
        Quantity { Value: { } q } => q,
        _ => null,
    };

    /// <summary>Case- and accent-insensitive form: lower case, diacritics removed, whitespace collapsed.</summary>
    public static string Normalize(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        var space = false;
        foreach (var c in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark) continue;
            if (char.IsWhiteSpace(c)) { space = sb.Length > 0; continue; }
            if (space) { sb.Append(' '); space = false; }
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString().Normalize(NormalizationForm.FormC);
    }

    private static string? NormalizeOrNull(string? text) => text is null ? null : Normalize(text);

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tags();

    private static string StripTags(string xhtml) => System.Net.WebUtility.HtmlDecode(Tags().Replace(xhtml, " "));

    /// <summary>The text of a resource for _content: every string value of its JSON (property names left out).</summary>
    private static string ContentText(string json)
    {
        var sb = new StringBuilder();
        var reader = new System.Text.Json.Utf8JsonReader(Encoding.UTF8.GetBytes(json), new System.Text.Json.JsonReaderOptions { MaxDepth = Errors.Limits.StoredJsonDepth });
        while (reader.Read())
            if (reader.TokenType == System.Text.Json.JsonTokenType.String) sb.Append(reader.GetString()).Append(' ');
        return sb.ToString();
    }
}
