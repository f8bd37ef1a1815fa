using Hl7.Fhir.Model;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Workflows;

/// <summary>
/// A down-referral (hospital → station) carries the discharge summary to the resident's GP: an active Referral
/// ServiceRequest with direction down must name, in <c>supportingInfo</c>, a DocumentReference or Composition about
/// the same resident (stored, or written in the same transaction). Loads of history by the server's own tools are
/// exempt, as for the task's first state.
/// </summary>
public sealed class DischargeSummaryRule(RuleReads reads) : IWriteRule
{
    public bool Governs(string type) => type == "ServiceRequest";

    public async System.Threading.Tasks.Task Check(RuleWrite write, CancellationToken ct)
    {
        if (write.Trusted || write.Resource is not ServiceRequest { Status: RequestStatus.Active } referral
            || referral.GetExtensionValue<Code>(GroupCodes.ReferralDirection)?.Value != "down") return;
        var subject = RuleReads.Key(referral.Subject, write.BaseUrl);
        foreach (var info in referral.SupportingInfo)
        {
            var key = RuleReads.Key(info, write.BaseUrl);
            if (key is null || !(key.StartsWith("DocumentReference/", StringComparison.Ordinal) || key.StartsWith("Composition/", StringComparison.Ordinal))) continue;
            var about = await reads.Read(write, key, ct) switch
            {
                DocumentReference d => RuleReads.Key(d.Subject, write.BaseUrl),
                Composition c => RuleReads.Key(c.Subject, write.BaseUrl),
                _ => null,
            };
            if (about == subject) return;
        }
        throw ContractRules.Rule(
            $"A down-referral carries the discharge summary: supportingInfo must name a DocumentReference or Composition about {subject ?? "the resident"}.",
            "ServiceRequest.supportingInfo");
    }
}
