using Hl7.Fhir.Model;

namespace Interop.Server.Seed;

/// <summary>The small FHIR building blocks every seed generator uses: references, codings, profiles, dates.</summary>
public static class SeedFhir
{
    public const string IgBase = "https://interop.example/fhir/";
    public const string TeamRoles = IgBase + "CodeSystem/team-role";
    public const string Kinds = IgBase + "CodeSystem/institution-kind";
    public const string EpisodeTypes = IgBase + "CodeSystem/episode-type";
    public const string Snomed = "http://snomed.info/sct";
    public const string Loinc = "http://loinc.org";
    public const string Icd10 = "http://hl7.org/fhir/sid/icd-10";
    public const string Ucum = "http://unitsofmeasure.org";

    /// <summary>The group's local time zone (China Standard Time).</summary>
    public static readonly TimeSpan China = TimeSpan.FromHours(8);

    public static ResourceReference Ref(string type, string id, string? display = null) => new($"{type}/{id}", display);

    public static Meta Profile(string name) => new() { Profile = [IgBase + "StructureDefinition/" + name] };

    public static CodeableConcept Concept(string system, string code, string display, string? text = null) =>
        new(system, code, display, text);

    public static CodeableConcept Text(string text) => new() { Text = text };

    public static string Day(DateOnly day) => day.ToString("yyyy-MM-dd");

    /// <summary>A local date and time on <paramref name="day"/> at <paramref name="minutes"/> past midnight, with the +08:00 offset.</summary>
    public static DateTimeOffset At(DateOnly day, int minutes) => new(day.ToDateTime(TimeOnly.MinValue).AddMinutes(minutes), China);

    public static string Instant(DateTimeOffset at) => at.ToString("yyyy-MM-dd'T'HH:mm:sszzz");

    /// <summary>One of <paramref name="items"/>, each with its weight.</summary>
    public static T Pick<T>(Random rng, params (T Item, double Weight)[] items)
    {
        var x = rng.NextDouble() * items.Sum(i => i.Weight);
        foreach (var (item, weight) in items)
            if ((x -= weight) < 0) return item;
        return items[^1].Item;
    }

    /// <summary>A normally distributed value (Box–Muller), clamped to [min, max].</summary>
    public static double Normal(Random rng, double mean, double sd, double min, double max)
    {
        var z = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        return Math.Clamp(mean + sd * z, min, max);
    }
}
