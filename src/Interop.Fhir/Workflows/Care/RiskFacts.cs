using System.Globalization;
using Hl7.Fhir.Model;
using Interop.Fhir.Pipeline;

namespace Interop.Fhir.Workflows.Care;

/// <summary>What the stratification knows of one resident: the data its rules read, each with the resource it came from.</summary>
public sealed record RiskFacts(
    Patient Patient, int? Age, IReadOnlyList<Condition> Chronic,
    (decimal Value, Observation From)? Systolic, (decimal Value, Observation From)? HbA1c, IReadOnlyList<Encounter> Admissions);

/// <summary>
/// Gathers the facts of a page of residents with one nested search per kind of data (the caller's scopes, the access
/// policy and the audit apply): active chronic Conditions; the latest systolic pressure (Observation 85354-9's component
/// 8480-6, or an 8480-6 Observation) and HbA1c (4548-4, %) of the past two years; admissions (Encounter class IMP or
/// ACUTE) of the past 365 days at an Organization of institution-kind hospital.
/// </summary>
public static class RiskData
{
    private const string BloodPressure = "85354-9", Systolic = "8480-6", HbA1c = "4548-4";

    public static async Task<List<RiskFacts>> Gather(InteractionCall call, IReadOnlyList<Patient> residents, DateTimeOffset now, Dictionary<string, bool> hospitals, CancellationToken ct)
    {
        var ids = string.Join(',', residents.Select(p => $"Patient/{p.Id}"));
        var chronicCodes = string.Join(',', CareCodes.Chronic.Keys.Select(k => $"{k.System}|{k.Code}"));
        var conditions = await Nested.Search<Condition>(call, "Condition", [new("patient", ids), new("code", chronicCodes)], ct, int.MaxValue);
        var observations = await Nested.Search<Observation>(call, "Observation",
            [new("patient", ids), new("code", $"{CareCodes.Loinc}|{BloodPressure},{CareCodes.Loinc}|{Systolic},{CareCodes.Loinc}|{HbA1c}"), new("date", "ge" + Day(now.AddYears(-2)))], ct, int.MaxValue);
        var encounters = await Nested.Search<Encounter>(call, "Encounter",
            [new("patient", ids), new("class", $"{CareCodes.ActCode}|IMP,{CareCodes.ActCode}|ACUTE"), new("date", "ge" + Day(now.AddDays(-365)))], ct, int.MaxValue);
        foreach (var provider in encounters.Select(e => e.ServiceProvider?.Reference).OfType<string>().Distinct().Where(p => !hospitals.ContainsKey(p)))
            hospitals[provider] = await IsHospital(call, provider, ct);

        return residents.Select(p =>
        {
            var key = $"Patient/{p.Id}";
            var measured = observations.Where(o => o.Subject?.Reference == key && o.Status is not (ObservationStatus.EnteredInError or ObservationStatus.Cancelled))
                .OrderByDescending(When).ToList();
            return new RiskFacts(p, Age(p, now),
                conditions.Where(c => c.Subject?.Reference == key && CareCodes.IsActive(c) && CareCodes.ChronicOf(c.Code) is not null).ToList(),
                measured.Select(o => Value(o, Systolic)).FirstOrDefault(v => v is not null),
                measured.Select(o => Value(o, HbA1c)).FirstOrDefault(v => v is not null),
                encounters.Where(e => e.Subject?.Reference == key && e.Status != Encounter.EncounterStatus.EnteredInError
                                      && e.ServiceProvider?.Reference is { } sp && hospitals.GetValueOrDefault(sp)).ToList());
        }).ToList();
    }

    // The measurement's value: the Observation's own (its code is the measure) or its component's (a BP panel's systolic).
    private static (decimal, Observation)? Value(Observation o, string code)
    {
        if (GroupCodes.Has(o.Code, CareCodes.Loinc, code) && o.Value is Quantity { Value: { } own }) return (own, o);
        return o.Component.FirstOrDefault(c => GroupCodes.Has(c.Code, CareCodes.Loinc, code))?.Value is Quantity { Value: { } part } ? (part, o) : null;
    }

    private static DateTimeOffset When(Observation o) => o.Effective switch
    {
        FhirDateTime d => d.ToDateTimeOffset(TimeSpan.Zero),
        Period p when p.StartElement is { } s => s.ToDateTimeOffset(TimeSpan.Zero),
        Instant i when i.Value is { } v => v,
        _ => DateTimeOffset.MinValue,
    };

    private static int? Age(Patient p, DateTimeOffset now)
    {
        var text = p.BirthDate;
        if (string.IsNullOrEmpty(text) || !DateTime.TryParseExact(text.Length switch { 4 => text + "-01-01", 7 => text + "-01", _ => text[..Math.Min(10, text.Length)] },
                "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var born)) return null;
        var age = now.Year - born.Year;
        return now.Date < born.Date.AddYears(age) ? age - 1 : age;
    }

    // An admission counts at a hospital: an Organization of institution-kind hospital (read once per run; shared data).
    private static async Task<bool> IsHospital(InteractionCall call, string reference, CancellationToken ct)
    {
        var parts = reference.Split('/');
        if (parts is not ["Organization", var id]) return false;
        try
        {
            return CareCodes.KindOf(await Nested.Read<Organization>(call, "Organization", id, ct)) == "hospital";
        }
        catch (Errors.FhirException e) when (e.Kind is Errors.ErrorKind.NotFound or Errors.ErrorKind.Gone)
        {
            return false;
        }
    }

    private static string Day(DateTimeOffset t) => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
