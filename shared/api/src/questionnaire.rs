//! Questionnaire campaigns on the wire: the bodies of the campaign routes, the
//! [`CampaignId`] and [`LinkHash`] newtypes, and what an invitation answers.
//!
//! Bodies keep raw JSON types and refuse unknown fields, so that the JSON decoder
//! answers 400 for a body of the wrong shape (naming its path, `answers[2].value`) and
//! the monitoring service answers 422 for one that breaks a rule (a scale value out of
//! range, a choice that is not offered), naming the same path.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::CommandOutcome;

/// Longest campaign id, in characters.
pub const MAX_CAMPAIGN_ID: usize = 60;

/// A campaign's id, unique in its plan: 1-60 lower-case ASCII letters, digits and
/// `-`, starting with a letter or digit (`monitoraggio-2022`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CampaignId(String);

impl CampaignId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CampaignId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CampaignId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if s.is_empty() || s.len() > MAX_CAMPAIGN_ID {
            return Err(format!(
                "{s:?} is not a campaign id: 1 to {MAX_CAMPAIGN_ID} characters"
            ));
        }
        if !s.chars().all(ok_char) || s.starts_with('-') {
            return Err(format!(
                "{s:?} is not a campaign id: lower-case letters, digits and '-', not first"
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// The lower-case hex SHA-256 of a personal link's secret: what the log and the read
/// models know of a link. The gateway computes it from the secret in the URL; the
/// secret itself never travels on the command bus.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LinkHash(String);

impl LinkHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in time that does not depend on where the two first differ.
    pub fn same_as(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for LinkHash {
    /// Only a prefix, so logs never hold enough of it to look a link up.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkHash({}…)", &self.0[..8])
    }
}

impl TryFrom<String> for LinkHash {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(s))
        } else {
            Err("a link hash is 64 lower-case hex digits".to_owned())
        }
    }
}

impl From<LinkHash> for String {
    fn from(h: LinkHash) -> Self {
        h.0
    }
}

/// Body of `POST /api/v1/plans/{plan}/campaigns`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftCampaign {
    /// The campaign's id, unique in the plan (see [`CampaignId`]).
    #[schema(example = "monitoraggio-2022")]
    pub id: String,
    #[schema(example = "Questionario di monitoraggio 2022 — esempio")]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The planned answering window, `YYYY-MM-DD`; informative (answers are accepted
    /// between open and close).
    #[schema(example = "2022-03-01")]
    pub opens: String,
    #[schema(example = "2022-04-30")]
    pub closes: String,
}

/// One question of `PUT /api/v1/plans/{plan}/campaigns/{campaign}/questions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    /// Unique in the campaign: 1-40 letters, digits, `-` or `_`.
    #[schema(example = "attuazione")]
    pub id: String,
    /// `scale` | `choice` | `text`.
    #[schema(example = "scale")]
    pub kind: String,
    #[schema(example = "Quanto è avanzata l'azione nel vostro territorio?")]
    pub text: String,
    /// `plan` (the default), `strategy` or `action` (one code in `subjects`), or
    /// `actions`: answered once for each action of `subjects` the organisation picks.
    #[serde(default)]
    #[schema(example = "actions")]
    pub about: String,
    #[serde(default)]
    #[schema(example = json!(["2.1.1", "2.1.2", "2.1.3"]))]
    pub subjects: Vec<String>,
    /// For `scale`: the whole numbers from `scale_min` to `scale_max` (2 to 11 of
    /// them), and what the ends mean.
    #[serde(default)]
    pub scale_min: Option<i64>,
    #[serde(default)]
    pub scale_max: Option<i64>,
    #[serde(default)]
    pub min_label: String,
    #[serde(default)]
    pub max_label: String,
    /// For `choice`: 2 to 20 distinct options.
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub required: bool,
}

/// Body of `PUT /api/v1/plans/{plan}/campaigns/{campaign}/questions`: the whole list,
/// replacing the previous one, while the campaign is a draft.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuestions {
    pub questions: Vec<QuestionInput>,
}

/// Body of `POST /api/v1/plans/{plan}/campaigns/{campaign}/invitations`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteOrganisation {
    #[schema(example = "Unione Montana Valli di Lanzo, Ceronda e Casternone")]
    pub organisation: String,
}

/// What an invitation answers: the command's outcome and, this once, the personal link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationOutcome {
    #[serde(flatten)]
    pub outcome: CommandOutcome,
    pub organisation: String,
    /// The link's secret: the credential of `GET /api/v1/questionnaire/{secret}` and
    /// `PUT /api/v1/questionnaire/{secret}/answers`. Shown once, never stored: the log
    /// keeps only its SHA-256.
    pub secret: String,
    /// The web page to send to the organisation, `/#/questionnaire/<secret>` (the
    /// secret in the fragment, which browsers do not send to the server when the page
    /// opens).
    pub link: String,
    /// The link's API, `/api/v1/questionnaire/<secret>` (`GET`, and `PUT .../answers`).
    pub api: String,
}

/// An answer's value: a whole number for a `scale` question, a string (the option, or
/// the text) for `choice` and `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AnswerValue {
    Number(i64),
    Text(String),
}

/// One answer of [`SubmitAnswers`].
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// The question's id.
    #[schema(example = "attuazione")]
    pub question: String,
    /// For a question about `actions`: which of its actions this answer is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "2.1.1")]
    pub action: Option<String>,
    #[schema(value_type = Object, example = 4)]
    pub value: AnswerValue,
}

/// Body of `PUT /api/v1/questionnaire/{secret}/answers`: the organisation's whole
/// answer set, replacing the one it sent before while the campaign is open.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitAnswers {
    pub answers: Vec<AnswerInput>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaign_ids_are_lower_case_words() {
        assert!("monitoraggio-2022".parse::<CampaignId>().is_ok());
        assert!("Monitoraggio".parse::<CampaignId>().is_err());
        assert!("-x".parse::<CampaignId>().is_err());
        assert!("".parse::<CampaignId>().is_err());
        assert!("a b".parse::<CampaignId>().is_err());
    }

    #[test]
    fn a_link_hash_is_64_hex_digits_and_compares_whole() {
        let h = LinkHash::try_from("ab".repeat(32)).unwrap();
        assert!(h.same_as(&"ab".repeat(32)));
        assert!(!h.same_as(&"ab".repeat(31)));
        assert!(!h.same_as(&format!("{}ac", "ab".repeat(31))));
        assert!(LinkHash::try_from("AB".repeat(32)).is_err());
        assert!(!format!("{h:?}").contains(&"ab".repeat(5)));
    }

    #[test]
    fn a_value_is_a_whole_number_or_a_string() {
        let a: AnswerInput = serde_json::from_str(r#"{"question":"q","value":4}"#).unwrap();
        assert_eq!(a.value, AnswerValue::Number(4));
        let a: AnswerInput = serde_json::from_str(r#"{"question":"q","value":"sì"}"#).unwrap();
        assert_eq!(a.value, AnswerValue::Text("sì".into()));
        assert!(serde_json::from_str::<AnswerInput>(r#"{"question":"q","value":3.5}"#).is_err());
    }
}
