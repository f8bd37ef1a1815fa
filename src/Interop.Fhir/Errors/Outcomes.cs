using Hl7.Fhir.Model;

namespace Interop.Fhir.Errors;

public static class Outcomes
{
    public static OperationOutcome Error(OperationOutcome.IssueType code, string message, string? expression = null) =>
        Single(OperationOutcome.IssueSeverity.Error, code, message, expression);

    public static OperationOutcome Information(string message) =>
        Single(OperationOutcome.IssueSeverity.Information, OperationOutcome.IssueType.Informational, message, null);

    public static OperationOutcome Single(OperationOutcome.IssueSeverity severity, OperationOutcome.IssueType code, string message, string? expression)
    {
        var outcome = new OperationOutcome();
        outcome.Issue.Add(Issue(severity, code, message, expression));
        return outcome;
    }

    public static OperationOutcome.IssueComponent Issue(OperationOutcome.IssueSeverity severity, OperationOutcome.IssueType code, string message, string? expression)
    {
        var issue = new OperationOutcome.IssueComponent { Severity = severity, Code = code, Diagnostics = message };
        if (!string.IsNullOrEmpty(expression)) issue.Expression = [expression];
        return issue;
    }
}
