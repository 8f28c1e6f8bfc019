/**
 * Closeloop for Google Forms: posts every response of this form to Closeloop, signed.
 *
 * 1. In the form: More (three dots) > Apps Script. Replace the editor's contents with this file.
 * 2. Set CLOSELOOP_URL and CLOSELOOP_SECRET below to the URL and secret Closeloop shows for the source.
 * 3. Triggers (clock icon) > Add Trigger: function onFormSubmit, event source "From form",
 *    event type "On form submit". Save and allow the script to connect to an external service.
 *
 * What it sends (the Google Forms preset of Closeloop reads exactly this):
 *   POST CLOSELOOP_URL, Content-Type: application/json
 *   X-Closeloop-Timestamp: <unix seconds>
 *   X-Closeloop-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 *   {"type": "google_forms.response", "form_id", "form_title", "response_id", "submitted_at",
 *    "respondent_email", "items": [{"id", "title", "type", "value", "min"?, "max"?}]}
 */
var CLOSELOOP_URL = 'https://closeloop.example.com/webhooks/your-source-slug/';
var CLOSELOOP_SECRET = 'paste-the-source-secret-here';

function onFormSubmit(e) {
  var form = e.source;
  var response = e.response;
  var items = response.getItemResponses().map(function (answer) {
    var item = answer.getItem();
    var entry = {id: String(item.getId()), title: item.getTitle(), type: String(item.getType()),
                 value: answer.getResponse()};
    if (item.getType() == FormApp.ItemType.SCALE) {
      entry.min = item.asScaleItem().getLowerBound();
      entry.max = item.asScaleItem().getUpperBound();
    }
    if (FormApp.ItemType.RATING && item.getType() == FormApp.ItemType.RATING) {
      entry.min = 1;
      entry.max = item.asRatingItem().getRatingScaleLevel();
    }
    return entry;
  });
  var body = JSON.stringify({
    type: 'google_forms.response',
    form_id: form.getId(),
    form_title: form.getTitle(),
    response_id: response.getId(),
    submitted_at: response.getTimestamp().toISOString(),
    respondent_email: response.getRespondentEmail(),
    items: items
  });
  var timestamp = String(Math.floor(Date.now() / 1000));
  var digest = Utilities.computeHmacSha256Signature(timestamp + '.' + body, CLOSELOOP_SECRET,
                                                    Utilities.Charset.UTF_8);
  var hex = digest.map(function (b) { return ('0' + (b & 0xff).toString(16)).slice(-2); }).join('');
  var reply = UrlFetchApp.fetch(CLOSELOOP_URL, {
    method: 'post', contentType: 'application/json', payload: body, muteHttpExceptions: true,
    headers: {'X-Closeloop-Timestamp': timestamp, 'X-Closeloop-Signature': 'sha256=' + hex}
  });
  if (reply.getResponseCode() >= 300) {
    // Shown under Executions in the Apps Script editor: the reason Closeloop gave.
    throw new Error('Closeloop answered ' + reply.getResponseCode() + ': ' + reply.getContentText());
  }
}
