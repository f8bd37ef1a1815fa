using System.Collections.Concurrent;
using Fhir.Metrics;
using UcumQuantity = Fhir.Metrics.Quantity;

namespace Interop.Fhir.Indexing;

/// <summary>
/// UCUM canonical forms for quantity search (Fhir.Metrics, which the Firely SDK already depends on): 5.4 mmol/L
/// and 0.0054 mol/L index and search as the same canonical value and unit, so a search in one unit finds values
/// recorded in any unit of the same dimension.
/// </summary>
public static class Ucum
{
    public const string System = "http://unitsofmeasure.org";
    private const int MaxCachedUnits = 10_000;
    private static readonly Lazy<SystemOfUnits> Units = new(UCUM.Load);
    private static readonly ConcurrentDictionary<string, (string Code, decimal Factor)?> Factors = new(StringComparer.Ordinal);

    /// <summary>The canonical unit and the factor to it, or null: not UCUM, not a unit Fhir.Metrics reads, or not linear.</summary>
    public static (string Code, decimal Factor)? Unit(string? system, string? code)
    {
        if (system != System || string.IsNullOrEmpty(code)) return null;
        if (Factors.TryGetValue(code, out var known)) return known;
        var factor = Compute(code);
        if (Factors.Count < MaxCachedUnits) Factors[code] = factor;
        return factor;
    }

    public static (string Code, decimal Value)? Canonical(string? system, string? code, decimal value) =>
        Unit(system, code) is { } u && Scale(value, u.Factor) is { } scaled ? (u.Code, scaled) : null;

    /// <summary>value × factor, or null where that leaves decimal's range (such a value is compared as written).</summary>
    public static decimal? Scale(decimal value, decimal factor)
    {
        try { return value * factor; }
        catch (OverflowException) { return null; }
    }

    private static (string Code, decimal Factor)? Compute(string code)
    {
        // Temperatures have an offset, not a factor; they are searched in the unit they were recorded in.
        if (code is "Cel" or "[degF]" or "[degR]" or "[degRe]") return null;
        try
        {
            var units = Units.Value;
            var canonical = units.Canonical(new UcumQuantity(1m, units.Metric(code)));
            return (canonical.Metric.ToString(), canonical.Value.ToDecimal());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null; // not a UCUM expression Fhir.Metrics can read: the quantity is searched by its own code
        }
    }
}
