using System.Globalization;
using System.Text.RegularExpressions;

namespace Interop.Fhir.Indexing;

/// <summary>
/// FHIR date/dateTime/instant strings as half-open UTC ranges [lo, hi) by their precision:
/// "2020" covers the year, "2020-03" the month, "2020-03-04" the day, "2020-03-04T10:00" the minute.
/// A time without a zone is taken as UTC.
/// </summary>
public static partial class FhirDates
{
    [GeneratedRegex(@"^(?<y>\d{4})(-(?<m>\d{2})(-(?<d>\d{2})(T(?<h>\d{2})(:(?<mi>\d{2})(:(?<s>\d{2})(\.(?<f>\d+))?)?)?(?<z>Z|[+-]\d{2}:\d{2})?)?)?)?$")]
    private static partial Regex Pattern();

    public static bool TryParse(string? text, out DateTimeOffset lo, out DateTimeOffset hi)
    {
        lo = hi = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var m = Pattern().Match(text.Trim());
        if (!m.Success) return false;
        try
        {
            int G(string name, int fallback) => m.Groups[name].Success ? int.Parse(m.Groups[name].Value, CultureInfo.InvariantCulture) : fallback;
            var offset = TimeSpan.Zero;
            if (m.Groups["z"].Success && m.Groups["z"].Value != "Z")
            {
                var z = m.Groups["z"].Value;
                int hours = int.Parse(z[1..3], CultureInfo.InvariantCulture), minutes = int.Parse(z[4..6], CultureInfo.InvariantCulture);
                if (hours > 14 || minutes > 59 || hours == 14 && minutes > 0) return false; // offsets run from -14:00 to +14:00
                offset = new TimeSpan(hours, minutes, 0) * (z[0] == '-' ? -1 : 1);
            }
            var fraction = m.Groups["f"].Success ? m.Groups["f"].Value : "";
            var ticks = fraction.Length == 0 ? 0 : (long)(decimal.Parse("0." + fraction, CultureInfo.InvariantCulture) * TimeSpan.TicksPerSecond);
            var start = new DateTimeOffset(G("y", 1), G("m", 1), G("d", 1), G("h", 0), G("mi", 0), G("s", 0), offset).AddTicks(ticks);
            lo = start.ToUniversalTime();
            try
            {
                DateTimeOffset end;
                if (!m.Groups["m"].Success) end = start.AddYears(1);
                else if (!m.Groups["d"].Success) end = start.AddMonths(1);
                else if (!m.Groups["h"].Success) end = start.AddDays(1);
                else if (!m.Groups["mi"].Success) end = start.AddHours(1);
                else if (!m.Groups["s"].Success) end = start.AddMinutes(1);
                else if (fraction.Length == 0) end = start.AddSeconds(1);
                else end = start.AddTicks(Math.Max(1, (long)Math.Pow(10, 7 - Math.Min(7, fraction.Length))));
                hi = end.ToUniversalTime();
            }
            catch (ArgumentOutOfRangeException)
            {
                hi = DateTimeOffset.MaxValue; // the range of the last instant .NET can represent (9999-12-31)
            }
            return true;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or FormatException or OverflowException)
        {
            return false; // a day, month or hour out of range (2020-02-30, 24:00), or a time outside years 1-9999 once in UTC
        }
    }

    public static readonly DateTimeOffset MinValue = new(1, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset MaxValue = new(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);
}
