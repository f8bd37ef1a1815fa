using Microsoft.Extensions.DependencyInjection.Extensions;
using Interop.Fhir.Audit;
using Interop.Fhir.Measures;
using Interop.Fhir.Patients;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Pipeline.Handlers;
using Interop.Fhir.Search;
using Interop.Fhir.Security;
using Interop.Fhir.Storage;
using Interop.Fhir.Subscriptions;
using Interop.Fhir.Transactions;
using Interop.Fhir.Validation;
using Interop.Fhir.Workflows;

namespace Interop.Server.Hosting;

/// <summary>
/// The composition root: every layer of the library registered in one place, for the web host and for the
/// command-line tools alike. The library's folders register nothing of each other's.
/// </summary>
public static class Composition
{
    public static IServiceCollection AddInteropServices(this IServiceCollection services, string connectionString, IConfiguration configuration)
    {
        var fhir = configuration.GetSection("Fhir");
        services.AddFhirStorage(connectionString, fhir.Get<StorageOptions>() ?? new StorageOptions());
        services.AddSingleton<SearchService>();
        services.AddSingleton<ConditionalMatcher>();
        services.AddSingleton<ConditionalLocks>();
        services.AddSingleton<TransactionProcessor>();
        services.AddWorkflows();
        services.AddSubscriptions(configuration);
        services.PostConfigure<TransactionOptions>(o => o.AllowMultipleDelete = fhir.GetValue<bool>("AllowMultipleDelete"));
        services.AddSingleton<PatientMatcher>();
        services.AddSingleton<PatientMerge>();
        services.AddSingleton<PatientEverything>();
        services.AddSingleton(configuration.GetSection("Audit").Get<AuditOptions>() ?? new AuditOptions());
        services.AddSingleton<AuditLog>();
        services.AddSingleton<AuditStore>();
        services.AddHostedService<AuditStartup>();
        services.AddValidation(configuration);
        services.AddPipeline();
        return services;
    }

    /// <summary>The group's workflow rules, checked inside every write of the types they govern.</summary>
    private static void AddWorkflows(this IServiceCollection services)
    {
        services.AddSingleton<RuleReads>();
        services.AddSingleton<IWriteRule, ContractRules>();
        services.AddSingleton<IWriteRule, ReferralTaskRules>();
        services.AddSingleton<IWriteRule, DischargeSummaryRule>();
        services.AddSingleton<IWriteRule, Interop.Fhir.Workflows.Care.CaseManagementRules>();
        services.AddSingleton<WriteRules>();
    }

    /// <summary>R4 Subscriptions: the rule every stored Subscription keeps, its scope check, the binding of websockets, the dispatcher's parts.</summary>
    private static void AddSubscriptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(configuration.GetSection("Subscriptions").Get<SubscriptionOptions>() ?? new SubscriptionOptions());
        services.AddSingleton<IWriteRule, SubscriptionRules>();
        services.AddSingleton<SubscriptionStore>();
        services.AddSingleton<DeliveryQueue>();
        services.AddSingleton<SubscriptionMatcher>();
        services.TryAddSingleton<ISubscriberCheck, AnySubscriber>(); // the web host's is Auth/ClientSubscriberCheck
        services.AddSingleton<RestHookSender>();
        services.AddSingleton<SubscriptionStatusWriter>();
        services.AddSingleton<DeliveryLog>();
        services.AddSingleton<SocketHub>();
    }

    /// <summary>The background services of subscriptions, for the web host only (the command-line tools deliver nothing).</summary>
    public static IServiceCollection AddSubscriptionDispatch(this IServiceCollection services)
    {
        services.AddHostedService<SubscriptionDispatcher>();
        services.AddHostedService<SocketListener>();
        return services;
    }

    /// <summary>Validation: the mode (Fhir:Validation), the Validation section, the group's profiles loaded at start.</summary>
    private static void AddValidation(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("Validation");
        var options = section.Get<ValidationOptions>() ?? new ValidationOptions();
        if (!section.GetSection("Enforce").Exists()) options.Enforce = ValidationOptions.GroupDefaults;
        var mode = configuration["Fhir:Validation"];
        if (!string.IsNullOrEmpty(mode))
            options.Mode = Enum.TryParse<ValidationMode>(mode, ignoreCase: true, out var parsed) && !int.TryParse(mode, out _)
                ? parsed : throw new InvalidOperationException($"Fhir:Validation is '{mode}'; it must be off, core or profiles.");
        services.AddSingleton(options);
        services.AddSingleton<Conformance>();
        services.AddSingleton<ResourceValidator>();
        services.AddSingleton<IResourceCheck>(sp => sp.GetRequiredService<ResourceValidator>());
        services.AddHostedService<ProfileLoader>();
        services.AddHostedService<ConformanceListener>();
    }

    /// <summary>The interaction pipeline: one handler per request type, and the behaviours of its stages.</summary>
    private static void AddPipeline(this IServiceCollection services)
    {
        services.AddSingleton<FhirPipeline>();
        services.AddSingleton<IInteractionBehaviour, AuditAccessBehaviour>(); // authorise: nobody writes the access log, few read it;
        services.AddSingleton<IInteractionBehaviour, ScopeBehaviour>(); // then scopes,
        services.AddSingleton<IInteractionBehaviour, PatientScopeBehaviour>(); // then the patient compartment,
        services.AddSingleton<IInteractionBehaviour, InstitutionPolicyBehaviour>(); // then the group's access policy,
        services.AddSingleton<IInteractionBehaviour, ConformanceGuard>(); // only admins change the profiles,
        services.AddSingleton<IInteractionBehaviour, SubscriptionScopeBehaviour>(); // and a subscriber holds the scope its notifications are checked with
        services.AddSingleton<IInteractionBehaviour, ValidateBehaviour>();
        services.AddSingleton<IInteractionBehaviour, AuditBehaviour>();
        services.AddSingleton<IInteractionBehaviour, ConformanceBehaviour>(); // publish: a stored profile is used at once,
        services.AddSingleton<IInteractionBehaviour, SearchParameterBehaviour>(); // and a stored search parameter
        services.AddSingleton<IInteractionBehaviour, PublishBehaviour>();
        services.AddSingleton<IHandler, ReadHandler>();
        services.AddSingleton<IHandler, SearchHandler>();
        services.AddSingleton<IHandler, HistoryHandler>();
        services.AddSingleton<IHandler, CreateHandler>();
        services.AddSingleton<IHandler, UpdateHandler>();
        services.AddSingleton<IHandler, ConditionalUpdateHandler>();
        services.AddSingleton<IHandler, PatchHandler>();
        services.AddSingleton<IHandler, ConditionalPatchHandler>();
        services.AddSingleton<IHandler, DeleteHandler>();
        services.AddSingleton<IHandler, ConditionalDeleteHandler>();
        services.AddSingleton<IHandler, BundleHandler>();
        services.AddSingleton<IHandler, MatchHandler>();
        services.AddSingleton<IHandler, MergeHandler>();
        services.AddSingleton<IHandler, EverythingHandler>();
        services.AddSingleton<IHandler, ChangesHandler>();
        services.AddSingleton<IHandler, AuditSearchHandler>();
        services.AddSingleton<IHandler, AuditReadHandler>();
        services.AddSingleton<IHandler, AuditVerifyHandler>();
        services.AddSingleton<IHandler, AccessReportHandler>();
        services.AddSingleton<IHandler, AuditExportHandler>();
        services.AddSingleton<IHandler, ValidateHandler>();
        services.AddSingleton<IHandler, TerminologyHandler>();
        services.AddSingleton<IHandler, RenewHandler>();
        services.AddSingleton<IHandler, Interop.Fhir.Workflows.Care.EnrolHandler>();
        services.AddSingleton<IHandler, Interop.Fhir.Workflows.Care.StratifyHandler>();
        services.AddSingleton<IHandler, Interop.Fhir.Workflows.Care.ApplyHandler>();
        services.AddSingleton<MeasureEvaluator>();
        services.AddSingleton<IHandler, EvaluateMeasureHandler>();
        services.AddSingleton<IHandler, SubscriptionBindHandler>();
    }
}
