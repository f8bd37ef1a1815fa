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
        var issue = new OperationOutcome.IssueComponent { Severity = severity, Code = code, Diagnostics = Printable(message) };
        if (!string.IsNullOrEmpty(expression)) issue.Expression = [Printable(expression)];
        return issue;
    }

    /// <summary>
    /// Text safe to echo in any format: characters FHIR does not allow (which XML cannot even write) become U+FFFD,
    /// and a message is cut at 2,000 characters.
    /// </summary>
    public static string Printable(string text)
    {
        if (text.Length > 2000) text = text[..2000] + "…";
        var at = FhirText.BadCharacter(text);
        if (at < 0) return text;
        var chars = text.ToCharArray();
        for (; at >= 0; at = FhirText.BadCharacter(text, at + 1)) chars[at] = '\uFFFD';
        return new string(chars);
    }
}
