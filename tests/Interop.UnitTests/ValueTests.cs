using Interop.Fhir.Errors;
using Interop.Fhir.Indexing;
using Interop.Fhir.Search;
using Interop.Fhir.Storage;

namespace Interop.UnitTests;

public sealed class ValueTests
{
    [Theory]
    [InlineData("2020", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z")]
    [InlineData("2020-02", "2020-02-01T00:00:00Z", "2020-03-01T00:00:00Z")]
    [InlineData("2020-02-29", "2020-02-29T00:00:00Z", "2020-03-01T00:00:00Z")]
    [InlineData("2020-03-04T10:00+08:00", "2020-03-04T02:00:00Z", "2020-03-04T02:01:00Z")]
    [InlineData("2020-03-04T10:00:05.5Z", "2020-03-04T10:00:05.5Z", "2020-03-04T10:00:05.6Z")]
    [InlineData("9999-12-31", "9999-12-31T00:00:00Z", null)] // the end clamps to the last representable instant
    public void Dates_are_ranges_by_their_precision(string text, string lo, string? hi)
    {
        Assert.True(FhirDates.TryParse(text, out var from, out var to));
        Assert.Equal(DateTimeOffset.Parse(lo), from);
        Assert.Equal(hi is null ? DateTimeOffset.MaxValue : DateTimeOffset.Parse(hi), to);
    }

    [Theory]
    [InlineData("2020-13")]
    [InlineData("2020-02-30")]
    [InlineData("2020-01-01T00:00:00+99:99")]
    [InlineData("2020-01-01T00:00:00+14:30")]
    [InlineData("0000")]
    [InlineData("20")]
    [InlineData("")]
    public void Impossible_dates_are_refused(string text) => Assert.False(FhirDates.TryParse(text, out _, out _));

    [Theory]
    [InlineData("100", "eq", 99.5, 100.5)]
    [InlineData("100.0", "eq", 99.95, 100.05)]
    [InlineData("gt5.25", "gt", 5.245, 5.255)]
    [InlineData("le-3", "le", -3.5, -2.5)]
    public void Numbers_carry_the_range_of_their_precision(string raw, string prefix, double lo, double hi)
    {
        var value = SearchValues.Number(raw, "n");
        Assert.Equal(prefix, value.Prefix.ToString().ToLowerInvariant());
        Assert.Equal((decimal)lo, value.Lo);
        Assert.Equal((decimal)hi, value.Hi);
    }

    [Theory]
    [InlineData("xx5")]
    [InlineData("1e99999")]
    [InlineData("five")]
    public void Bad_numbers_are_400_naming_the_parameter(string raw) =>
        Assert.Equal("n", Assert.Throws<FhirException>(() => SearchValues.Number(raw, "n")).Outcome.Issue[0].Expression.Single());

    [Theory]
    [InlineData("abc", 480, "abc")]
    [InlineData("aaaa", 3, "aaa")]
    [InlineData("王秀英", 7, "王秀")]        // 3 bytes a character: never a broken character
    [InlineData("a😀b", 4, "a")]           // nor half a surrogate pair
    public void Index_text_is_cut_on_character_boundaries_within_a_byte_budget(string text, int bytes, string expected) =>
        Assert.Equal(expected, IndexText.Bound(text, bytes));

    [Theory]
    [InlineData("plain", -1)]
    [InlineData("tab\tand\nnewline\r", -1)]
    [InlineData("a\0b", 1)]
    [InlineData("\u0001", 0)]
    [InlineData("x\uFFFE", 1)]
    [InlineData("😀", -1)]
    public void Fhir_text_rules(string text, int firstBad) => Assert.Equal(firstBad, FhirText.BadCharacter(text));

    [Fact]
    public void Unpaired_surrogates_are_refused()
    {
        // Built at run time: test data with an unpaired surrogate does not survive xUnit's serialisation.
        Assert.Equal(1, FhirText.BadCharacter("a" + (char)0xD800));
        Assert.Equal(0, FhirText.BadCharacter((char)0xDC00 + "a"));
        Assert.Equal(1, FhirText.BadCharacter("a" + (char)0xD800 + "b"));
    }

    [Fact]
    public void History_cursors_round_trip_and_garbage_is_refused()
    {
        var cursor = new HistoryCursor(true, new DateTimeOffset(2026, 11, 25, 10, 0, 0, 123, TimeSpan.Zero), "Patient/a/3", 3);
        Assert.Equal(cursor, HistoryCursor.Decode(cursor.Encode()));
        Assert.Null(HistoryCursor.Decode("garbage"));
        Assert.Null(HistoryCursor.Decode("-1"));
    }
}
