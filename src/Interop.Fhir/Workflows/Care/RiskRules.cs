using System.Globalization;
using Hl7.Fhir.Model;

namespace Interop.Fhir.Workflows.Care;

/// <summary>
/// The group's stratification rules (method risk-method|group-stratification). Points per resident:
/// chronic conditions (active, in ValueSet chronic-conditions) 1 each, at most 3; latest systolic ≥ 160 mmHg 2, 140–159 1;
/// latest HbA1c ≥ 9.0 % 2, 7.0–8.9 1; age ≥ 75 2, 65–74 1; hospital admissions in the past year ≥ 2 2, 1 1.
/// Risk: 0–2 low, 3–4 moderate, ≥ 5 high.
/// </summary>
public static class RiskRules
{
    public const int Moderate = 3, High = 5;

    /// <summary>The points, the level (low, moderate, high) and one reason per rule that gave points.</summary>
    public static (int Points, string Level, List<string> Reasons) Score(RiskFacts f)
    {
        var reasons = new List<string>();
        var points = 0;
        void Add(int p, string why)
        {
            if (p == 0) return;
            points += p;
            reasons.Add($"+{p}: {why}");
        }
        Add(Math.Min(3, f.Chronic.Count), $"{f.Chronic.Count} active chronic condition(s) ({string.Join(", ", f.Chronic.Select(c => c.Code?.Text ?? CareCodes.ChronicOf(c.Code)?.Coding.Display))})");
        if (f.Systolic is { } bp) Add(bp.Value >= 160 ? 2 : bp.Value >= 140 ? 1 : 0, $"latest systolic blood pressure {N(bp.Value)} mmHg (Observation/{bp.From.Id})");
        if (f.HbA1c is { } a1c) Add(a1c.Value >= 9.0m ? 2 : a1c.Value >= 7.0m ? 1 : 0, $"latest HbA1c {N(a1c.Value)} % (Observation/{a1c.From.Id})");
        if (f.Age is { } age) Add(age >= 75 ? 2 : age >= 65 ? 1 : 0, $"age {age}");
        Add(Math.Min(2, f.Admissions.Count), $"{f.Admissions.Count} hospital admission(s) in the past year");
        return (points, points >= High ? "high" : points >= Moderate ? "moderate" : "low", reasons);
    }

    /// <summary>The RiskAssessment of one run for one resident: final, now, with the level, the points, the reasons and the basis.</summary>
    public static RiskAssessment Assess(RiskFacts f, DateTimeOffset now)
    {
        var (points, level, reasons) = Score(f);
        var display = level switch { "high" => "High likelihood", "moderate" => "Moderate likelihood", _ => "Low likelihood" };
        var assessment = new RiskAssessment
        {
            Status = ObservationStatus.Final,
            Subject = new ResourceReference($"Patient/{f.Patient.Id}"),
            Occurrence = new FhirDateTime(now),
            Method = new CodeableConcept(CareCodes.RiskMethod, "group-stratification", "Group risk stratification"),
            Prediction =
            [
                new RiskAssessment.PredictionComponent
                {
                    Outcome = new CodeableConcept { Text = "Hospital admission or complication of a chronic condition" },
                    QualitativeRisk = new CodeableConcept(CareCodes.RiskProbability, level, display),
                    Rationale = $"{points} point(s): {level} (moderate from {Moderate}, high from {High})",
                },
            ],
            Note = reasons.Count == 0 ? [new Annotation { Text = "No rule gave points." }] : reasons.Select(r => new Annotation { Text = r }).ToList(),
        };
        assessment.Basis.AddRange(f.Chronic.Select(c => new ResourceReference($"Condition/{c.Id}")));
        if (f.Systolic is { } bp) assessment.Basis.Add(new ResourceReference($"Observation/{bp.From.Id}"));
        if (f.HbA1c is { } a1c) assessment.Basis.Add(new ResourceReference($"Observation/{a1c.From.Id}"));
        assessment.Basis.AddRange(f.Admissions.Select(e => new ResourceReference($"Encounter/{e.Id}")));
        return assessment;
    }

    private static string N(decimal d) => d.ToString("0.##", CultureInfo.InvariantCulture);
}
