import t from 'tap'
import { baseStringUri, djangoEscapeUriPath, hmacSha1Signature, signatureBaseString } from '../support/fake-lms-oauth1.js'

// The fake LMS verifies relay launches with this code, so it is checked against published
// vectors (copied from docs/wire-formats.md §2: RFC 5849 §1.2, omsmith/ims-lti, and our launch).

t.test('RFC 5849 §1.2 (with a token)', async t => {
  const uri = baseStringUri('http://photos.example.net', '/photos')
  const base = signatureBaseString('GET', uri, [
    ['file', 'vacation.jpg'], ['size', 'original'],
    ['oauth_consumer_key', 'dpf43f3p2l4k3l03'], ['oauth_token', 'nnch734d00sl2jdk'], ['oauth_nonce', 'chapoH'],
    ['oauth_timestamp', '137131202'], ['oauth_signature_method', 'HMAC-SHA1'],
  ])
  t.equal(base, 'GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal')
  t.equal(hmacSha1Signature(base, 'kd94hf93k423kf44', 'pfkkdhi9sl3r4s00'), 'MdpQcU8iPSUjWoN/UDMsK2sui9I=')
})

t.test('IMS LTI 1.1 test consumer (repeated query key)', async t => {
  const uri = baseStringUri('http://www.imsglobal.org', '/developers/LTI/test/v1p1/tool.php')
  const base = signatureBaseString('POST', uri, [
    ['foo', '123'], ['foo', 'bar'],
    ['resource_link_id', 'rsc1'], ['oauth_callback', 'about:blank'],
    ['lis_outcome_service_url', 'http://www.imsglobal.org/developers/LTI/test/v1p1/common/tool_consumer_outcome.php?b64=MTIzNDU6OjpzZWNyZXQ='],
    ['lis_result_sourcedid', 'feb-123-456-2929::28883'],
    ['launch_presentation_return_url', 'http://www.imsglobal.org/developers/LTI/test/v1p1/lms_return.php'],
    ['lti_version', 'LTI-1p0'], ['lti_message_type', 'basic-lti-launch-request'], ['oauth_version', '1.0'],
    ['oauth_nonce', '7ee33f6dc94117e792ff529898ce3953'], ['oauth_timestamp', '1397708483'],
    ['oauth_consumer_key', '12345'], ['oauth_signature_method', 'HMAC-SHA1'], ['oauth_signature', 'ignored'],
  ])
  t.equal(hmacSha1Signature(base, 'secret'), 'dHORwwJqwh5hQQAlvaA9csSIOhc=')
})

t.test('launch to an Open edX style path: + literal in the URL, %2B in the base string', async t => {
  const path = djangoEscapeUriPath(decodeURIComponent('/lti/1p1/launch/course-v1:Org%2BC1%2BR1/block-1'))
  t.equal(path, '/lti/1p1/launch/course-v1:Org+C1+R1/block-1', 'Django re-quotes %2B back to +')
  const uri = baseStringUri('https://Tool.Example.org:443', path)
  const base = signatureBaseString('POST', uri, [
    ['oauth_consumer_key', 'test-key'], ['oauth_nonce', 'nonce-launch-1'], ['oauth_timestamp', '1700000000'],
    ['oauth_signature_method', 'HMAC-SHA1'], ['oauth_version', '1.0'],
    ['lti_message_type', 'basic-lti-launch-request'], ['lti_version', 'LTI-1p0'], ['resource_link_id', 'rl-1'],
    ['user_id', 'u-42'], ['roles', 'Learner'], ['context_id', 'ctx-1'], ['lis_result_sourcedid', 'src-1'],
    ['lis_outcome_service_url', 'https://lms.example.edu/outcomes/lti11'], ['custom_note', 'a b&c=d/é'],
  ])
  t.match(base, /^POST&https%3A%2F%2Ftool\.example\.org%2Flti%2F1p1%2Flaunch%2Fcourse-v1%3AOrg%2BC1%2BR1%2Fblock-1&context_id/)
  t.equal(hmacSha1Signature(base, 'test-secret'), '+rJ0vjwC5bLpuR6Xq33yVzd814Q=')
})
