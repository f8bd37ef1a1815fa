using System.Globalization;
using Hl7.Fhir.Model;
using Interop.Fhir.Model;
using Interop.Fhir.Pipeline;

namespace Interop.Fhir.Workflows.Care;

/// <summary>PlanDefinition/{id}/$apply?subject=Patient/{id}: the template's draft IndividualCarePlan for the resident (not stored).</summary>
public sealed record ApplyRequest(string PlanId, string PatientId) : FhirRequest
{
    public override Interaction Interaction => Interaction.Operation;
    public override string ResourceType => "PlanDefinition";
    public override string Id => PlanId;
    public override string Operation => "apply";
    public override bool ReadsOnlyThroughNested => true; // the template, the resident, their conditions and contract are nested reads
}

/// <summary>
/// $apply (R4 semantics: the plan is returned, not stored; the caller reviews it and creates it). The template names
/// the chronic condition it is for in <c>useContext</c> (focus); the plan addresses the resident's active Conditions
/// of that kind (422 when there is none), its care team is the resident's active family-doctor contract's team and
/// its author the contract's GP (422 without a contract), its period starts today, and each action becomes a
/// scheduled activity due one interval after today (scheduledTiming: the due date as event, the action's repeat).
/// </summary>
public sealed class ApplyHandler : Handler<ApplyRequest>
{
    protected override async Task<InteractionResult> Handle(ApplyRequest r, InteractionCall call, CancellationToken ct)
    {
        var plan = await Nested.Read<PlanDefinition>(call, "PlanDefinition", r.PlanId, ct);
        var focus = plan.UseContext.Where(u => u.Code?.Code == "focus").Select(u => CareCodes.ChronicOf(u.Value as CodeableConcept)).FirstOrDefault(f => f is not null)
            ?? throw Nested.Unprocessable($"PlanDefinition/{r.PlanId} names no chronic condition (useContext focus in ValueSet chronic-conditions).", "PlanDefinition.useContext");
        var patient = $"Patient/{r.PatientId}";
        await Nested.Read<Patient>(call, "Patient", r.PatientId, ct);
        var codes = CareCodes.Chronic.Where(c => c.Value == focus.Kind).Select(c => $"{c.Key.System}|{c.Key.Code}");
        var conditions = (await Nested.Search<Condition>(call, "Condition", [new("patient", patient), new("code", string.Join(',', codes))], ct, 50))
            .Where(CareCodes.IsActive).ToList();
        if (conditions.Count == 0)
            throw Nested.Unprocessable($"{patient} has no active Condition of the kind PlanDefinition/{r.PlanId} is for ({focus.Kind}: {string.Join(", ", codes)}).", "Condition.code");
        var contract = (await Nested.Search<EpisodeOfCare>(call, "EpisodeOfCare",
                [new("patient", patient), new("status", "active"), new("type", $"{GroupCodes.EpisodeType}|family-doctor-contract")], ct, 10))
            .FirstOrDefault(GroupCodes.IsContract) ?? throw Nested.Unprocessable(
            $"{patient} has no active family-doctor contract: an individual care plan's care team is the contract's team.", "Patient");

        var today = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).Date;
        var carePlan = new CarePlan
        {
            Meta = new Meta { Profile = [CareCodes.CarePlanProfile] },
            InstantiatesCanonical = [plan.Version is { } v ? $"{plan.Url}|{v}" : plan.Url],
            Status = RequestStatus.Draft, Intent = CarePlan.CarePlanIntent.Plan,
            Title = plan.Title ?? plan.Name, Description = plan.Description,
            Subject = new ResourceReference(patient), Period = new Period { Start = Day(today) },
            Created = Day(today), Author = contract.CareManager,
            CareTeam = contract.Team.Select(t => new ResourceReference(t.Reference)).ToList(),
            Addresses = conditions.Select(c => new ResourceReference($"Condition/{c.Id}")).ToList(),
            Activity = plan.Action.Select(a => Activity(a, today)).ToList(),
        };
        return new CareAnswer(carePlan);
    }

    private static CarePlan.ActivityComponent Activity(PlanDefinition.ActionComponent action, DateTime today)
    {
        var repeat = (action.Timing as Timing)?.Repeat;
        var due = repeat?.Period is { } period ? Add(today, period, repeat.PeriodUnit) : today;
        return new CarePlan.ActivityComponent
        {
            Detail = new CarePlan.DetailComponent
            {
                Kind = KindOf(action.Code.FirstOrDefault()),
                Code = action.Code.FirstOrDefault() ?? new CodeableConcept { Text = action.Title },
                Status = CarePlan.CarePlanActivityStatus.Scheduled,
                Description = action.Description ?? action.Title,
                Scheduled = new Timing
                {
                    Event = [Day(due)],
                    Repeat = repeat is null ? null : new Timing.RepeatComponent { Frequency = repeat.Frequency, Period = repeat.Period, PeriodUnit = repeat.PeriodUnit },
                },
            },
        };
    }

    // Follow-up visits are appointments, education a communication, everything else (tests) a service request.
    private static CarePlan.CarePlanActivityKind KindOf(CodeableConcept? code) =>
        GroupCodes.Has(code, CareCodes.Snomed, "185389009") ? CarePlan.CarePlanActivityKind.Appointment
        : GroupCodes.Has(code, CareCodes.Snomed, "409073007") ? CarePlan.CarePlanActivityKind.CommunicationRequest
        : CarePlan.CarePlanActivityKind.ServiceRequest;

    private static DateTime Add(DateTime day, decimal period, Timing.UnitsOfTime? unit)
    {
        var n = (int)Math.Ceiling(period);
        return unit switch
        {
            Timing.UnitsOfTime.D => day.AddDays(n), Timing.UnitsOfTime.Wk => day.AddDays(7 * n), Timing.UnitsOfTime.Mo => day.AddMonths(n),
            Timing.UnitsOfTime.A => day.AddYears(n), _ => day.AddDays(1),
        };
    }

    private static string Day(DateTime day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
