"""Fixed vocabularies for people and places; every name, email, phone and address is drawn from
these by keyed index, so a contact is a pure function of (seed, contact key).
"""

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily "
    "Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Dorothy Jason Rebecca Edward Sharon Jeffrey Laura Ryan Cynthia "
    "Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Brenda Stephen Emma Larry "
    "Anna Justin Pamela Scott Nicole Brandon Samantha Benjamin Katherine Samuel Christine "
    "Gregory Helen Alexander Debra Patrick Rachel Frank Carolyn Raymond Janet Jack Maria "
    "Dennis Olivia Jerry Heather Tyler Diane Aaron Julie Jose Joyce Adam Victoria Nathan Ruth "
    "Henry Virginia Zachary Lauren Douglas Kelly Peter Christina Kyle Joan Noah Evelyn Ethan "
    "Judith Jeremy Andrea Christian Hannah Walter Megan Keith Cheryl Austin Jacqueline Roger "
    "Martha Terry Madison Sean Teresa Gerald Gloria Carl Sara Dylan Janice Harold Ann Jordan "
    "Kathryn Jesse Abigail Bryan Sophia Lawrence Frances Arthur Jean Gabriel Alice Bruce Judy "
    "Logan Isabella Billy Julia Joe Grace Alan Amber Juan Denise Elijah Danielle Willie Marilyn"
).split()

LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales "
    "Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos "
    "Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes "
    "Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry "
    "Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons "
    "Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West "
    "Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro "
    "Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry"
).split()

EMAIL_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "protonmail.com",
    "mail.com",
)

STREETS = (
    "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Walnut Sunset Lincoln Jackson "
    "Church River Highland Forest Meadow Spring Ridge Valley Willow Cherry Chestnut Hickory "
    "Franklin Madison Jefferson Adams Center Mill Union Prospect School Broad Market Water "
    "Bridge Front Railroad Liberty Grove Birch Laurel Magnolia Dogwood Aspen Sycamore Poplar"
).split()

STREET_SUFFIXES = ("Street", "Avenue", "Road", "Lane", "Drive", "Court", "Boulevard", "Way")

UNITS = ("", "", "", "", "Apt. ", "Suite ")

CITIES = (
    ("Springfield", "IL"), ("Riverside", "CA"), ("Franklin", "TN"), ("Greenville", "SC"),
    ("Bristol", "CT"), ("Clinton", "IA"), ("Fairview", "OR"), ("Salem", "MA"),
    ("Madison", "WI"), ("Georgetown", "TX"), ("Arlington", "VA"), ("Ashland", "OH"),
    ("Dover", "DE"), ("Oxford", "MS"), ("Jackson", "MI"), ("Burlington", "VT"),
    ("Manchester", "NH"), ("Milton", "FL"), ("Newport", "RI"), ("Auburn", "AL"),
    ("Dayton", "OH"), ("Lexington", "KY"), ("Hudson", "NY"), ("Kingston", "NY"),
    ("Marion", "IN"), ("Mount Vernon", "WA"), ("Oakland", "CA"), ("Portland", "ME"),
    ("Troy", "NY"), ("Winchester", "VA"), ("Boulder", "CO"), ("Tucson", "AZ"),
    ("Reno", "NV"), ("Boise", "ID"), ("Fargo", "ND"), ("Omaha", "NE"),
    ("Wichita", "KS"), ("Tulsa", "OK"), ("Albuquerque", "NM"), ("Provo", "UT"),
    ("Billings", "MT"), ("Casper", "WY"), ("Sioux Falls", "SD"), ("Duluth", "MN"),
    ("Savannah", "GA"), ("Raleigh", "NC"), ("Richmond", "VA"), ("Baltimore", "MD"),
    ("Trenton", "NJ"), ("Erie", "PA"), ("Anchorage", "AK"), ("Honolulu", "HI"),
    ("Little Rock", "AR"), ("Baton Rouge", "LA"), ("Charleston", "WV"), ("Topeka", "KS"),
)  # fmt: skip

# Phone number shapes as (prefix, after area code, after exchange, has extension).
PHONE_SHAPES = (
    ("", "-", "-", False),
    ("(", ")", "-", False),
    ("", ".", ".", False),
    ("+1-", "-", "-", False),
    ("001-", "-", "-", False),
    ("", "-", "-", True),
)
